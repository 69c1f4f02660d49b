using OlaVlm.Core;
using OlaVlm.Model;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace OlaVlm.Data;

/// The vision tower's own preprocessing of a decoded RGB image, as LLaVA-1.5's `process_images` applies it:
///   PadToSquare (`--image_aspect_ratio pad`, LLaVA-1.5's IFT and evaluation): expand2square — the image pasted
///     centred on a square of the processor's mean colour, `tuple(int(x * 255) for x in image_mean)` — then the
///     processor; without it (PT: LLaVA's default "square") the processor alone, which crops the centre.
///   CLIP: transformers' CLIPImageProcessor from the tower folder's preprocessor_config.json (openai/clip-vit-large-
///     patch14-336: shortest edge 336, centre crop 336, CLIP mean/std; absent: the same rule at the tower's size).
///   ConvNeXt: ConvNextImageProcessor (OpenCLIP's eval transform at the tower's size; it pads by itself).
/// Images are independent, so a batch is processed on several threads (Threads; 1 = in order).
public sealed class TowerImageProcessor
{
    public ClipImageProcessor? Clip { get; }
    public ConvNextImageProcessor? ConvNext { get; }
    public bool PadToSquare { get; }
    public int Size { get; }
    public int Threads { get; set; } = Math.Max(1, Environment.ProcessorCount);

    TowerImageProcessor(ClipImageProcessor? clip, ConvNextImageProcessor? convNext, bool pad, int size) =>
        (Clip, ConvNext, PadToSquare, Size) = (clip, convNext, pad, size);

    public static TowerImageProcessor ForClip(ClipImageProcessor processor, bool padToSquare)
    {
        if (processor.CropHeight != processor.CropWidth)
            throw new ArgumentException($"TowerImageProcessor: CLIP crop {processor.CropHeight}x{processor.CropWidth} is not square");
        return new(processor, null, padToSquare, processor.CropHeight);
    }

    /// A Hugging Face CLIP folder's processor (preprocessor_config.json, else CLIP's rule at config.json's image_size).
    public static TowerImageProcessor ForClip(string clipDir, bool padToSquare)
    {
        var json = Path.Combine(clipDir, "preprocessor_config.json");
        int size = Pretrained.ReadClipVisionConfig(clipDir).ImageSize;
        var p = File.Exists(json) ? ClipImageProcessor.FromJson(json) : new ClipImageProcessor(size, size, size);
        if (p.CropHeight != size) throw new InvalidDataException($"{json}: crops {p.CropHeight}, but {Path.Combine(clipDir, "config.json")} has image_size {size}");
        return ForClip(p, padToSquare);
    }

    public static TowerImageProcessor ForConvNext(ConvNextConfig c, bool padToSquare) =>
        new(null, ConvNextImageProcessor.For(c, padToSquare), padToSquare, c.ImageSize);

    /// The processor of the tower a LLaVA was built with (`visionPath`: where its tower was loaded from).
    public static TowerImageProcessor For(LlavaConfig c, string visionPath, bool padToSquare) =>
        c.ConvNext is { } cnx ? ForConvNext(cnx, padToSquare) : ForClip(visionPath, padToSquare);

    /// expand2square's colour for this processor.
    public Rgb24 PadColor => ConvNext is not null ? ConvNextImageProcessor.PadColor
        : new Rgb24((byte)(int)(Clip!.Mean[0] * 255), (byte)(int)(Clip.Mean[1] * 255), (byte)(int)(Clip.Mean[2] * 255));

    /// One image → the tower's input, channel-major [3, Size, Size].
    public float[] Pixels(Image<Rgb24> image)
    {
        if (ConvNext is not null) return ConvNext.Pixels(image);
        if (!PadToSquare || image.Width == image.Height) return ClipPixels(image);
        using var square = ExpandToSquare(image, PadColor);
        return ClipPixels(square);
    }

    float[] ClipPixels(Image<Rgb24> image)
    {
        using var t = Clip!.Preprocess([image], CPU);
        return t.data<float>().ToArray();
    }

    /// Images → [B, 3, Size, Size] float32 on `device`.
    public Tensor Pixels(IReadOnlyList<Image<Rgb24>> images, Device? device = null)
    {
        if (images.Count == 0) throw new ArgumentException("TowerImageProcessor: no images");
        var rows = new float[images.Count][];
        Parallel.For(0, images.Count, new ParallelOptions { MaxDegreeOfParallelism = Threads }, i => rows[i] = Pixels(images[i]));
        int n = 3 * Size * Size;
        var data = new float[images.Count * n];
        for (int i = 0; i < rows.Length; i++) rows[i].CopyTo(data, i * n);
        return tensor(data, [images.Count, 3, Size, Size], float32, device ?? Devices.Default);
    }

    /// LLaVA's expand2square: a square of side max(w, h) in `fill`, the image pasted at ((side − w) / 2, (side − h) / 2).
    public static Image<Rgb24> ExpandToSquare(Image<Rgb24> image, Rgb24 fill)
    {
        int side = Math.Max(image.Width, image.Height);
        var square = new Image<Rgb24>(side, side, fill);
        int dx = (side - image.Width) / 2, dy = (side - image.Height) / 2;
        var src = RgbPixels.From(image);
        square.ProcessPixelRows(acc =>
        {
            for (int y = 0; y < image.Height; y++)
            {
                var row = acc.GetRowSpan(y + dy);
                for (int x = 0; x < image.Width; x++)
                {
                    int s = (y * image.Width + x) * 3;
                    row[x + dx] = new Rgb24(src.Data[s], src.Data[s + 1], src.Data[s + 2]);
                }
            }
        });
        return square;
    }
}
