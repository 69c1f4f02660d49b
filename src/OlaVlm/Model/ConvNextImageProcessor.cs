using OlaVlm.Core;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// The image preprocessing in front of the ConvNeXt tower, as OLA-VLM trains and evaluates it
/// (`--image_aspect_ratio pad`): LLaVA's expand2square onto the mean colour, then OpenCLIP's eval transform
/// with its size forced to the tower's (clip_convnext_encoder.py sets Resize.size and CenterCrop.size):
/// shortest edge to Size with PIL bicubic, centre crop Size × Size, /255, minus mean, over std.
/// Norm: OpenCLIP's OPENAI_DATASET_MEAN/STD (the release's preprocess_cfg), which are CLIP's (Normalization.Clip).
/// PadToSquare false: the transform alone (the reference's processor without LLaVA's padding).
public sealed record ConvNextImageProcessor(int Size, bool PadToSquare = true, Normalization? Norm = null)
{
    public Normalization Normalization => Norm ?? Normalization.Clip;

    /// For a tower: its image size (768 for the paper's XXL).
    public static ConvNextImageProcessor For(ConvNextConfig c, bool padToSquare = true) => new(c.ImageSize, padToSquare);

    /// expand2square's fill: `tuple(int(x * 255) for x in image_processor.image_mean)`. The reference's
    /// ProcessorWrapper keeps CLIP's mean whatever the transform normalises with: (122, 116, 104).
    public static Rgb24 PadColor { get; } = new((byte)(int)(Normalization.Clip.Mean[0] * 255), (byte)(int)(Normalization.Clip.Mean[1] * 255), (byte)(int)(Normalization.Clip.Mean[2] * 255));

    /// One image → [3, Size, Size] float32 on `device` (default Core.Devices.Default).
    public Tensor Preprocess(Image<Rgb24> image, Device? device = null) =>
        tensor(Pixels(image), [3, Size, Size], dtype: float32, device: device ?? Core.Devices.Default);

    /// Images → [B, 3, Size, Size] float32, the tower's input.
    public Tensor Preprocess(IReadOnlyList<Image<Rgb24>> images, Device? device = null)
    {
        if (images.Count == 0) throw new ArgumentException("ConvNextImageProcessor: no images");
        var data = images.SelectMany(Pixels).ToArray();
        return tensor(data, [images.Count, 3, Size, Size], dtype: float32, device: device ?? Core.Devices.Default);
    }

    /// The normalised pixels of one image, channel-major (3 × Size × Size).
    public float[] Pixels(Image<Rgb24> image)
    {
        if (Size <= 0) throw new ArgumentOutOfRangeException(nameof(Size), Size, "ConvNextImageProcessor: size must be positive");
        var rgb = RgbPixels.From(image);
        if (PadToSquare)
        {
            var (square, side, _) = ExpandToSquare(rgb.Data, rgb.Width, rgb.Height);
            rgb = new RgbPixels(square, side, side);
        }
        // torchvision Resize(int) on a PIL image: the shorter side becomes Size, Pillow bicubic.
        rgb = PilResize.ShortestEdge(rgb, Size);
        // torchvision CenterCrop: offsets int(round(Δ / 2)), Python's round (half to even).
        int top = (int)Math.Round((rgb.Height - Size) / 2.0, MidpointRounding.ToEven), left = (int)Math.Round((rgb.Width - Size) / 2.0, MidpointRounding.ToEven);
        return Normalise(rgb.Data, rgb.Width, top, left);
    }

    /// LLaVA's expand2square: the image pasted centred (offset (side − short) // 2) on a PadColor square.
    public static (byte[] Rgb, int Width, int Height) ExpandToSquare(byte[] rgb, int w, int h)
    {
        if (w == h) return (rgb, w, h);
        int side = Math.Max(w, h), dx = (side - w) / 2, dy = (side - h) / 2;
        var square = new byte[side * side * 3];
        for (int i = 0; i < side * side; i++) { square[3 * i] = PadColor.R; square[3 * i + 1] = PadColor.G; square[3 * i + 2] = PadColor.B; }
        for (int y = 0; y < h; y++) Array.Copy(rgb, y * w * 3, square, ((y + dy) * side + dx) * 3, w * 3);
        return (square, side, side);
    }

    /// Crops Size × Size at (top, left) and normalises as ToTensor + Normalize do, in float32.
    float[] Normalise(byte[] rgb, int width, int top, int left)
    {
        var n = Normalization;
        var data = new float[3 * Size * Size];
        for (int y = 0; y < Size; y++)
            for (int x = 0; x < Size; x++)
            {
                int s = ((y + top) * width + x + left) * 3, d = y * Size + x;
                for (int c = 0; c < 3; c++) data[c * Size * Size + d] = (rgb[s + c] / 255f - n.Mean[c]) / n.Std[c];
            }
        return data;
    }
}
