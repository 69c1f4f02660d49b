using System.Diagnostics;
using OlaVlm.Model;
using OlaVlm.Teachers;
using OlaVlm.Teachers.DepthAnything;
using OlaVlm.Teachers.UnClip;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers.FullScale;

/// Figures, not checks: each full-size teacher's forward at batch 8 on this CPU with random weights, its peak RSS,
/// and the GPU time its FLOPs project per OLA-VLM pre-training step.
/// `dotnet test tests/OlaVlm.Tests --settings tests/benchmarks.runsettings --filter "Category=Benchmark&FullyQualifiedName~FullScaleTeacherBenchmark" --logger "console;verbosity=detailed"`.
///
/// FLOP count of one image through a ViT (multiply-add = 2 FLOPs; norms, softmax, GELU and biases left out, < 1%):
///   patch embedding 2·N·(3·P²)·D, and per block 24·N·D² (qkv 6ND², attention output 2ND², MLP 16ND² for a 4·D hidden
///   layer) + 4·N²·D (scores q·kᵀ and weights·v), N = tokens including the class token.
/// Per PT step the teachers see the global batch (256 images, pretrain.sh). GPU time = FLOPs / (peak · MFU), with a
/// stated MFU for a large-batch inference ViT forward; the PT student step for comparison is the frozen Llama-3-8B's
/// forward + activation backward ≈ 4 · 8.03e9 · tokens (weights frozen: no weight-gradient matmuls).
[Trait("Category", "Benchmark")]
public class FullScaleTeacherBenchmarkTests(ITestOutputHelper output)
{
    const int Batch = 8, PtBatch = 256;
    const double Mfu = 0.5, A100Bf16 = 312e12, H100Bf16 = 989e12;

    public static double VitFlops(int tokens, int dim, int layers, int patch, int mlpRatio = 4) =>
        2.0 * (tokens - 1) * 3 * patch * patch * dim
        + layers * ((8.0 + 4 * mlpRatio) * tokens * (double)dim * dim + 4.0 * tokens * tokens * dim);

    void Log(string line) { output.WriteLine(line); Console.WriteLine(line); }

    [Fact]
    public void DepthAnythingV2VitlAt336()
    {
        long before = PeakRss.Reset();
        var sw = Stopwatch.StartNew();
        manual_seed(0);
        using var model = new DepthAnythingV2(DepthAnythingV2Config.Vitl(), CPU);
        MiniTeacher.ResetNorms(model);
        using var teacher = new DepthAnythingV2Teacher(model, "random");
        double build = sw.Elapsed.TotalSeconds;
        var images = randn(Batch, 3, 336, 336);
        var (encode, rss, target) = Time(() => teacher.Encode(images));
        var (decode, rssDecode, picture) = Time(() => teacher.Decode(target)!);
        Assert.Equal(new long[] { Batch, 576, 1024 }, target.shape);
        Assert.Equal(new long[] { Batch, 336, 336 }, picture.shape);
        double flops = VitFlops(577, 1024, 24, 14);
        Report("DAv2 ViT-L/14 @336² (target = 4-block mean)", build, encode, Math.Max(rss, rssDecode), before, flops);
        Log($"  Decode (DPT head on the target, 336² depth pictures): {decode:F2} s for {Batch}");
    }

    [Fact]
    public void UnClipVitH14At224()
    {
        long before = PeakRss.Reset();
        var sw = Stopwatch.StartNew();
        manual_seed(0);
        using var model = new ClipVisionModelWithProjection(ClipVisionConfig.VitH14UnClip(), CPU);
        MiniTeacher.ResetNorms(model);
        using var teacher = new UnClipImageEncoderTeacher(model, new ClipImageProcessor(), "random");
        double build = sw.Elapsed.TotalSeconds;
        var images = randn(Batch, 3, 224, 224);
        var (encode, rss, embeds) = Time(() => teacher.Encode(images));
        Assert.Equal(new long[] { Batch, 1, 1024 }, embeds.shape);
        Report("unCLIP image encoder ViT-H/14 @224² (image_embeds)", build, encode, rss, before, VitFlops(257, 1280, 32, 14));
    }

    static (double Seconds, long PeakRss, Tensor Result) Time(Func<Tensor> run)
    {
        run().Dispose();   // warm-up: first-call allocations and kernel selection
        var sw = Stopwatch.StartNew();
        var result = run();
        return (sw.Elapsed.TotalSeconds, PeakRss.Read(), result);
    }

    void Report(string what, double build, double seconds, long peakRss, long rssBefore, double flopsPerImage)
    {
        double step = flopsPerImage * PtBatch, llm = 4 * 8.03e9 * PtBatch * (38 + 576 + 24 + 100);
        Log($"{what}: batch {Batch} forward {seconds:F2} s ({Batch / seconds:F2} img/s, {flopsPerImage * Batch / seconds / 1e9:F0} GFLOP/s) on " +
            $"{Environment.ProcessorCount} cores, {get_num_threads()} threads; build {build:F1} s; peak RSS {peakRss / 1e9:F2} GB (before {rssBefore / 1e9:F2} GB)");
        Log($"  {flopsPerImage / 1e9:F1} GFLOP/image; per PT step ({PtBatch} images) {step / 1e12:F1} TFLOP → " +
            $"A100 {step / (A100Bf16 * Mfu) * 1e3:F0} ms, H100 {step / (H100Bf16 * Mfu) * 1e3:F0} ms at {Mfu:P0} of bf16 peak; " +
            $"{step / llm:P1} of the frozen Llama-3-8B PT step's {llm / 1e15:F1} PFLOP (~738 tokens/sample)");
    }
}

/// Peak resident memory (Linux VmHWM), resettable through /proc/self/clear_refs so each benchmark measures its own
/// peak; elsewhere the process's lifetime peak working set.
static class PeakRss
{
    public static long Read()
    {
        if (File.Exists("/proc/self/status"))
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return Process.GetCurrentProcess().PeakWorkingSet64;
    }

    /// Resets the peak to the current RSS where the kernel allows it; returns the RSS at that moment.
    public static long Reset()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return Read();
    }
}
