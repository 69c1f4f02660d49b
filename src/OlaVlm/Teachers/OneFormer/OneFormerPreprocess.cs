using System.Text.Json;
using System.Text.Json.Nodes;
using OlaVlm.Core;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace OlaVlm.Teachers.OneFormer;

/// The image half of OneFormerImageProcessor, as read from a checkpoint's preprocessor_config.json. Defaults are the
/// processor's own (transformers' OneFormerImageProcessor): shortest edge 800, longest 1333, bilinear, ×1/255,
/// ImageNet mean / std — which is also what shi-labs/oneformer_coco_swin_large was converted with (detectron2's
/// PIXEL_MEAN / PIXEL_STD / 255, MIN_SIZE_TEST 800, MAX_SIZE_TEST 1333).
public sealed record OneFormerProcessorConfig
{
    public bool DoResize { get; init; } = true;
    public int ShortestEdge { get; init; } = 800;
    public int LongestEdge { get; init; } = 1333;
    /// A fixed {"height", "width"} size instead of the shortest-edge rule.
    public (int Height, int Width)? FixedSize { get; init; }
    public PilFilter Resample { get; init; } = PilFilter.Bilinear;
    public bool DoRescale { get; init; } = true;
    public double RescaleFactor { get; init; } = 1 / 255.0;
    public bool DoNormalize { get; init; } = true;
    public double[] ImageMean { get; init; } = [0.485, 0.456, 0.406];
    public double[] ImageStd { get; init; } = [0.229, 0.224, 0.225];

    /// Reads preprocessor_config.json; absent keys keep the processor's defaults. `size` may be an int (with
    /// `max_size`, default 1333), {"shortest_edge", "longest_edge"} or {"height", "width"}, as HF accepts.
    public static OneFormerProcessorConfig FromJson(string path)
    {
        var j = Core.JsonFile.Parse(path);
        var d = new OneFormerProcessorConfig();
        T Get<T>(string key, T fallback)
        {
            var node = j[key];
            try { return node is null ? fallback : node.Deserialize<T>()!; }
            catch (Exception e) { throw new InvalidDataException($"{path}: '{key}' = {node!.ToJsonString()} is not a {typeof(T).Name} ({e.Message})"); }
        }
        int maxSize = Get("max_size", Get("_max_size", d.LongestEdge));
        int shortest = d.ShortestEdge, longest = maxSize;
        (int, int)? fixedSize = null;
        switch (j["size"])
        {
            case null: break;
            case JsonValue v: shortest = v.GetValue<int>(); break;
            case JsonObject o when o["shortest_edge"] is not null && o["longest_edge"] is not null:
                shortest = o["shortest_edge"]!.GetValue<int>(); longest = o["longest_edge"]!.GetValue<int>(); break;
            case JsonObject o when o["height"] is not null && o["width"] is not null:
                fixedSize = (o["height"]!.GetValue<int>(), o["width"]!.GetValue<int>()); break;
            default: throw new InvalidDataException($"{path}: size {j["size"]!.ToJsonString()} needs shortest_edge + longest_edge or height + width");
        }
        int resample = Get("resample", (int)d.Resample);
        if (!Enum.IsDefined(typeof(PilFilter), resample))
            throw new InvalidDataException($"{path}: resample {resample} is not supported (2 = bilinear, 3 = bicubic)");
        var cfg = new OneFormerProcessorConfig
        {
            DoResize = Get("do_resize", d.DoResize), ShortestEdge = shortest, LongestEdge = longest, FixedSize = fixedSize,
            Resample = (PilFilter)resample, DoRescale = Get("do_rescale", d.DoRescale), RescaleFactor = Get("rescale_factor", d.RescaleFactor),
            DoNormalize = Get("do_normalize", d.DoNormalize), ImageMean = Get("image_mean", d.ImageMean), ImageStd = Get("image_std", d.ImageStd),
        };
        if (cfg.ImageMean.Length != 3 || cfg.ImageStd.Length != 3 || cfg.ImageStd.Any(s => s == 0))
            throw new InvalidDataException($"{path}: image_mean / image_std need 3 values each (std non-zero)");
        if (cfg.DoResize && cfg.FixedSize is null && cfg.LongestEdge <= cfg.ShortestEdge)
            throw new InvalidDataException($"{path}: longest_edge {cfg.LongestEdge} must exceed shortest_edge {cfg.ShortestEdge}");
        return cfg;
    }
}

/// OLA-VLM's seg-teacher input (`_get_seg_targets`): the image resized to 768×768 with PIL's default filter
/// (bicubic for RGB), then OneFormerProcessor: PIL resize by the shortest-edge rule (768² → 800²), ×rescale_factor,
/// (x − mean) / std, channels first. Every step is the reference's arithmetic (Core.PilResize for PIL; float64 rescale
/// cast to float32, then float32 normalisation, as numpy does), so pixel values match bit for bit.
public sealed class OneFormerPreprocess(OneFormerProcessorConfig processor, int squareSize = 768)
{
    public OneFormerProcessorConfig Processor { get; } = processor;
    public int SquareSize { get; } = squareSize;

    /// transformers' get_resize_output_image_size(default_to_square=False, max_size): (height, width).
    public static (int Height, int Width) ProcessorSize(int height, int width, int shortest, int longest)
    {
        int shortSide = Math.Min(height, width), longSide = Math.Max(height, width);
        int newShort = shortest, newLong = (int)((double)shortest * longSide / shortSide);
        if (newLong > longest) (newShort, newLong) = ((int)((double)longest * newShort / newLong), longest);
        return width <= height ? (newLong, newShort) : (newShort, newLong);
    }

    /// Step 1, `img.resize((768, 768))`.
    public RgbPixels Square(RgbPixels image) => PilResize.Resize(image, SquareSize, SquareSize, PilFilter.Bicubic);

    /// Step 2, the processor's resize.
    public RgbPixels Resize(RgbPixels image)
    {
        if (!Processor.DoResize) return image;
        var (h, w) = Processor.FixedSize ?? ProcessorSize(image.Height, image.Width, Processor.ShortestEdge, Processor.LongestEdge);
        return PilResize.Resize(image, w, h, Processor.Resample);
    }

    /// Step 3, rescale and normalise into `dest` (channels first, [3, H, W]).
    public void Normalize(RgbPixels image, Span<float> dest)
    {
        var p = Processor;
        int plane = image.Height * image.Width;
        Span<float> mean = [(float)p.ImageMean[0], (float)p.ImageMean[1], (float)p.ImageMean[2]];
        Span<float> std = [(float)p.ImageStd[0], (float)p.ImageStd[1], (float)p.ImageStd[2]];
        for (int i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++)
            {
                byte v = image.Data[i * 3 + c];
                float x = p.DoRescale ? (float)(v * p.RescaleFactor) : v;
                dest[c * plane + i] = p.DoNormalize ? (x - mean[c]) / std[c] : x;
            }
    }

    /// One image through all three steps → [3, H, W] floats.
    public float[] PixelValues(RgbPixels image, out int height, out int width)
    {
        var resized = Resize(Square(image));
        (height, width) = (resized.Height, resized.Width);
        var values = new float[3 * height * width];
        Normalize(resized, values);
        return values;
    }

    /// The processor's pixel_values for a batch → [B, 3, H, W] float32 (every image is square after step 1, so
    /// all have the same size and the processor's padding to the batch maximum adds nothing).
    public Tensor PixelValues(IReadOnlyList<Image<Rgb24>> images, Device? device = null)
    {
        if (images.Count == 0) throw new ArgumentException("OneFormerPreprocess: no images");
        var all = images.Select(im => PixelValues(RgbPixels.From(im), out var h, out var w) is var v ? (v, h, w) : default).ToList();
        var (_, height, width) = all[0];
        var data = new float[images.Count * 3 * height * width];
        for (int b = 0; b < all.Count; b++) all[b].v.CopyTo(data, b * 3 * height * width);
        return tensor(data, [images.Count, 3, height, width], float32, device ?? Core.Devices.Default);
    }
}
