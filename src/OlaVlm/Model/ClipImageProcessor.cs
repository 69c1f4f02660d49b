using System.Text.Json.Nodes;
using OlaVlm.Core;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// transformers' CLIPImageProcessor, as CLIP towers' preprocessor_config.json set it up (e.g. SD-2.1-unCLIP's
/// `feature_extractor/`):
/// RGB → resize the shortest edge to `ShortestEdge` (Pillow bicubic, long edge int(s · long / short)) → centre crop
/// (top = (h − crop) // 2) → × RescaleFactor (float64, then float32) → (x − mean) / std in float32.
public sealed record ClipImageProcessor(
    int ShortestEdge = 224,
    int CropHeight = 224,
    int CropWidth = 224,
    double RescaleFactor = 1.0 / 255,
    float[]? ImageMean = null,
    float[]? ImageStd = null,
    bool DoResize = true,
    bool DoCenterCrop = true,
    bool DoRescale = true,
    bool DoNormalize = true)
{
    public float[] Mean => ImageMean ?? Normalization.Clip.Mean;
    public float[] Std => ImageStd ?? Normalization.Clip.Std;

    /// Reads preprocessor_config.json; keys it lacks keep CLIP's defaults. Refuses what it does not implement
    /// (a resample other than 3 = bicubic, a size without shortest_edge) with the file and key in the message.
    public static ClipImageProcessor FromJson(string path) => ConfigJson.Read(path, node => FromJson(node, path));

    static ClipImageProcessor FromJson(JsonNode node, string path)
    {
        var j = node as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object");
        var d = new ClipImageProcessor();
        int resample = j["resample"]?.GetValue<int>() ?? 3;
        if (resample != 3) throw new InvalidDataException($"{path}: resample {resample} is not supported (3 = bicubic)");
        int shortest = j["size"] switch
        {
            null => d.ShortestEdge,
            JsonValue v => v.GetValue<int>(),
            JsonObject o when o["shortest_edge"] is { } s => s.GetValue<int>(),
            _ => throw new InvalidDataException($"{path}: size {j["size"]!.ToJsonString()} is not supported (shortest_edge)")
        };
        var (ch, cw) = j["crop_size"] switch
        {
            null => (d.CropHeight, d.CropWidth),
            JsonValue v => (v.GetValue<int>(), v.GetValue<int>()),
            JsonObject o => (o["height"]!.GetValue<int>(), o["width"]!.GetValue<int>()),
            _ => throw new InvalidDataException($"{path}: crop_size {j["crop_size"]!.ToJsonString()} is not understood")
        };
        float[]? Floats(string k) => j[k]?.AsArray().Select(x => x!.GetValue<float>()).ToArray() is { } a
            ? a.Length == 3 ? a : throw new InvalidDataException($"{path}: {k} has {a.Length} values, expected 3") : null;
        bool Flag(string k) => j[k]?.GetValue<bool>() ?? true;
        return new ClipImageProcessor(shortest, ch, cw, j["rescale_factor"]?.GetValue<double>() ?? d.RescaleFactor,
            Floats("image_mean"), Floats("image_std"), Flag("do_resize"), Flag("do_center_crop"), Flag("do_rescale"), Flag("do_normalize"));
    }

    /// images → pixel_values [B, 3, CropHeight, CropWidth] float32 on `device`.
    public Tensor Preprocess(IReadOnlyList<Image<Rgb24>> images, Device? device = null)
    {
        var data = new float[images.Count * 3 * CropHeight * CropWidth];
        for (int b = 0; b < images.Count; b++) Fill(images[b], data.AsSpan(b * 3 * CropHeight * CropWidth, 3 * CropHeight * CropWidth));
        return tensor(data, [images.Count, 3, CropHeight, CropWidth], device: device ?? Core.Devices.Default);
    }

    void Fill(Image<Rgb24> image, Span<float> chw)
    {
        var pixels = RgbPixels.From(image);
        if (DoResize) pixels = PilResize.ShortestEdge(pixels, ShortestEdge);
        var (rgb, h, w) = pixels;
        int top = 0, left = 0;
        if (DoCenterCrop)
        {
            if (CropHeight > h || CropWidth > w)
                throw new ArgumentException($"ClipImageProcessor: crop {CropHeight}x{CropWidth} is larger than the resized image {h}x{w} (padding is not implemented)");
            (top, left) = ((h - CropHeight) / 2, (w - CropWidth) / 2);
        }
        else if (h != CropHeight || w != CropWidth)
            throw new ArgumentException($"ClipImageProcessor: without a centre crop the image must already be {CropHeight}x{CropWidth}, got {h}x{w}");
        int plane = CropHeight * CropWidth;
        for (int y = 0; y < CropHeight; y++)
            for (int x = 0; x < CropWidth; x++)
                for (int c = 0; c < 3; c++)
                {
                    byte v = rgb[((top + y) * w + left + x) * 3 + c];
                    float f = DoRescale ? (float)(v * RescaleFactor) : v;
                    chw[c * plane + y * CropWidth + x] = DoNormalize ? (f - Mean[c]) / Std[c] : f;
                }
    }
}
