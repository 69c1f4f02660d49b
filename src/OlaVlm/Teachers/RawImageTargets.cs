using OlaVlm.Core;
using OlaVlm.Teachers.DepthAnything;
using OlaVlm.Teachers.OneFormer;
using OlaVlm.Teachers.UnClip;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// Teacher targets from the raw images, each full-scale teacher with its own reference preprocessing (as
/// base_ola_vlm.py hands every teacher the PIL image, never the vision tower's pixels):
///   Depth-Anything-V2: PIL resize to 336², red/blue swapped as `_get_dav2_feats` does (Dav2Preprocessing);
///   OneFormer: resize to 768², then OneFormerProcessor (→ 800²) (OneFormerPreprocess);
///   unCLIP: the pipeline's feature_extractor (ClipImageProcessor).
/// Images are preprocessed on several threads (they are independent), then encoded as one batch on the teacher's device.
public static class RawImageTargets
{
    public static int Threads { get; set; } = Math.Max(1, Environment.ProcessorCount);

    /// Whether `teacher` takes raw images here (the three full-scale teachers).
    public static bool Supports(ITeacher teacher) => teacher is DepthAnythingV2Teacher or OneFormerSegTeacher or UnClipImageEncoderTeacher;

    /// images → the teacher's Encode input [B, 3, H, W] float32 on the CPU.
    public static Tensor Preprocess(ITeacher teacher, IReadOnlyList<Image<Rgb24>> images)
    {
        if (images.Count == 0) throw new ArgumentException($"RawImageTargets ({teacher.Name}): no images");
        var rows = new float[images.Count][];
        int h = 0, w = 0;
        Parallel.For(0, images.Count, new ParallelOptions { MaxDegreeOfParallelism = Threads }, i =>
        {
            var (values, hh, ww) = One(teacher, images[i]);
            rows[i] = values;
            if (i == 0) (h, w) = (hh, ww);
        });
        var data = new float[images.Count * 3 * h * w];
        for (int i = 0; i < rows.Length; i++)
        {
            if (rows[i].Length != 3 * h * w) throw new ShapeMismatchException($"RawImageTargets ({teacher.Name}): image {i} preprocesses to {rows[i].Length} values, image 0 to 3×{h}×{w}");
            rows[i].CopyTo(data, i * 3 * h * w);
        }
        return tensor(data, [images.Count, 3, h, w], float32, CPU);
    }

    static (float[] Values, int Height, int Width) One(ITeacher teacher, Image<Rgb24> image)
    {
        switch (teacher)
        {
            case OneFormerSegTeacher seg:
                var v = seg.Preprocess.PixelValues(RgbPixels.From(image), out int h, out int w);
                return (v, h, w);
            case DepthAnythingV2Teacher dav2:
                using (var t = Dav2Preprocessing.FromImages([image], dav2.ImageSize, device: CPU)) return (t.data<float>().ToArray(), dav2.ImageSize, dav2.ImageSize);
            case UnClipImageEncoderTeacher gen:
                using (var t = gen.Processor.Preprocess([image], CPU)) return (t.data<float>().ToArray(), gen.Processor.CropHeight, gen.Processor.CropWidth);
            default:
                throw new NotSupportedException($"RawImageTargets: teacher {teacher.Name} ({teacher.GetType().Name}) has no raw-image preprocessing here " +
                                                "(the miniature's teachers take the world's normalised pixels: use OnTheFlyTargets with them)");
        }
    }

    /// Targets computed at every request from raw images (`image`: an image id → its decoded image, which stays the
    /// caller's). The full-scale default: no disk, the teachers on the model's device.
    public static OnTheFlyTargets OnTheFly(ITeacher teacher, Func<string, Image<Rgb24>> image)
    {
        if (!Supports(teacher)) One(teacher, new Image<Rgb24>(1, 1));   // throws the explanation
        return new OnTheFlyTargets(teacher, ids => Preprocess(teacher, ids.Select(image).ToList()));
    }

    /// The teacher's inputs for `ids`, for TargetCache.Build with the same `batchSize`; dispose the result after the build.
    public static RawImageInputs Inputs(ITeacher teacher, IReadOnlyList<string> ids, Func<string, Image<Rgb24>> image, int batchSize = 64) =>
        new(teacher, ids, image, batchSize);
}

/// A teacher's preprocessed inputs, one image at a time, for TargetCache.Build: `batchSize` images preprocessed
/// together on several threads. Build keeps at most `batchSize` of them (it encodes and forgets each full batch), so
/// older ones are freed as it goes and the rest when this is disposed: memory stays at two batches of inputs.
public sealed class RawImageInputs(ITeacher teacher, IReadOnlyList<string> ids, Func<string, Image<Rgb24>> image, int batchSize) : IDisposable
{
    readonly Queue<Tensor> _given = new();

    public IEnumerable<(string ImageId, Tensor Image)> Items
    {
        get
        {
            for (int start = 0; start < ids.Count; start += batchSize)
            {
                var part = ids.Skip(start).Take(batchSize).ToList();
                using var batch = RawImageTargets.Preprocess(teacher, part.Select(image).ToList());
                for (int i = 0; i < part.Count; i++)
                {
                    Tensor one;
                    using (var row = batch[i]) one = row.clone();
                    _given.Enqueue(one);
                    while (_given.Count > batchSize) _given.Dequeue().Dispose();
                    yield return (part[i], one);
                }
            }
        }
    }

    public void Dispose() { while (_given.Count > 0) _given.Dequeue().Dispose(); }
}
