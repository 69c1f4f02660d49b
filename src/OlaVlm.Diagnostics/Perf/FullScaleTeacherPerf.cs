using System.Diagnostics;
using OlaVlm.Teachers.DepthAnything;
using OlaVlm.Teachers.OneFormer;
using OlaVlm.Teachers.UnClip;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// Speed figures (printed, never asserted): each full-size teacher's forward on this CPU with random weights, its
/// peak RSS, and the accelerator time its FLOPs project per OLA-VLM pre-training step (GpuProjection).
public static class FullScaleTeacherPerf
{
    /// Depth-Anything-V2 ViT-L at 336²: the target (mean of four blocks) and its decoded depth pictures.
    public static void DepthAnythingV2Vitl(int batch, TextWriter log)
    {
        long before = MemoryProbe.ResetPeak();
        var sw = Stopwatch.StartNew();
        manual_seed(0);
        using var model = new DepthAnythingV2(DepthAnythingV2Config.Vitl(), CPU);
        MiniTeacher.ResetNorms(model);
        using var teacher = new DepthAnythingV2Teacher(model, "random");
        double build = sw.Elapsed.TotalSeconds;
        using var images = randn(batch, 3, 336, 336);
        var (encode, target) = Time(teacher.Encode, images);
        var (decode, picture) = Time(t => teacher.Decode(t)!, target);
        Check(target, [batch, 576, 1024]);
        Check(picture, [batch, 336, 336]);
        Report("DAv2 ViT-L/14 @336² (target = 4-block mean)", batch, build, encode, before, GpuProjection.VitFlops(577, 1024, 24, 14), log);
        log.WriteLine($"  Decode (DPT head on the target, 336² depth pictures): {decode:F2} s for {batch}");
        target.Dispose(); picture.Dispose();
    }

    /// SD-2.1-unCLIP's image encoder (OpenCLIP ViT-H/14) at 224²: image_embeds.
    public static void UnClipVitH14(int batch, TextWriter log)
    {
        long before = MemoryProbe.ResetPeak();
        var sw = Stopwatch.StartNew();
        manual_seed(0);
        using var model = new ClipVisionModelWithProjection(ClipVisionConfig.VitH14UnClip(), CPU);
        MiniTeacher.ResetNorms(model);
        using var teacher = new UnClipImageEncoderTeacher(model, new ClipImageProcessor(), "random");
        double build = sw.Elapsed.TotalSeconds;
        using var images = randn(batch, 3, 224, 224);
        var (encode, embeds) = Time(teacher.Encode, images);
        Check(embeds, [batch, 1, 1024]);
        Report("unCLIP image encoder ViT-H/14 @224² (image_embeds)", batch, build, encode, before, GpuProjection.VitFlops(257, 1280, 32, 14), log);
        embeds.Dispose();
    }

    /// OneFormer's Swin-L backbone (HF init) on OLA-VLM's 800×800 pixel_values, with the seg target's interpolation.
    public static void SwinLarge(int batch, TextWriter log)
    {
        long before = MemoryProbe.ResetPeak();
        var sw = Stopwatch.StartNew();
        manual_seed(0);
        var config = SwinConfig.OneFormerCocoSwinLarge;
        using var teacher = new OneFormerSegTeacher(new SwinBackbone(config, CPU), new OneFormerPreprocess(new OneFormerProcessorConfig()), device: CPU);
        double build = sw.Elapsed.TotalSeconds;
        using var pixels = randn(batch, 3, 800, 800);
        var (encode, target) = Time(teacher.Encode, pixels);
        Check(target, [batch, 576, 1536]);
        Report("OneFormer Swin-L @800² (seg target)", batch, build, encode, before, 2.0 * SwinFlops.Macs(config, 800, 800), log);
        target.Dispose();
    }

    /// One timed call after a warm-up on the first item (first-call allocations and kernel selection).
    static (double Seconds, Tensor Result) Time(Func<Tensor, Tensor> run, Tensor input)
    {
        using (var first = input[..1]) run(first).Dispose();
        var sw = Stopwatch.StartNew();
        var result = run(input);
        return (sw.Elapsed.TotalSeconds, result);
    }

    static void Check(Tensor t, long[] shape)
    {
        if (!t.shape.SequenceEqual(shape)) throw new ShapeMismatchException($"FullScaleTeacherPerf: got {Checked.Fmt(t.shape)}, expected {Checked.Fmt(shape)}");
    }

    static void Report(string what, int batch, double build, double seconds, long rssBefore, double flopsPerImage, TextWriter log)
    {
        log.WriteLine($"{what}: batch {batch} forward {seconds:F2} s ({batch / seconds:F2} img/s, {flopsPerImage * batch / seconds / 1e9:F0} GFLOP/s) on " +
                      $"{Devices.Describe(CPU)}; build {build:F1} s; peak RSS {MemoryProbe.PeakRssBytes() / 1e9:F2} GB (before {rssBefore / 1e9:F2} GB)");
        GpuProjection.Report(flopsPerImage, log);
    }
}
