using System.Diagnostics;
using OlaVlm.Core;
using OlaVlm.Teachers.OneFormer;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers.OneFormer;

/// The FLOP count that the benchmark's GPU projection rests on, against the Swin paper's published numbers.
public class SwinFlopsTests
{
    [Fact]
    public void CountsMatchTheSwinPaper()
    {
        var tiny224 = new SwinConfig();   // HF's default: Swin-T, window 7
        Assert.InRange(SwinFlops.Macs(tiny224, 224, 224) / 1e9, 4.45, 4.55);                        // paper: 4.5 G
        Assert.InRange(SwinFlops.Macs(SwinConfig.OneFormerCocoSwinLarge, 384, 384) / 1e9, 103.4, 104.4); // paper: 103.9 G
        // OLA-VLM's input: 800² (200 → 204, 100 → 108, 50 → 60, 25 → 36 after window padding).
        Assert.InRange(SwinFlops.Macs(SwinConfig.OneFormerCocoSwinLarge, 800, 800) / 1e9, 500, 540);
    }
}

/// Figures, not checks: `dotnet test tests/OlaVlm.Tests --settings tests/benchmarks.runsettings
/// --filter "Category=Benchmark&FullyQualifiedName~OneFormerBenchmark" --logger "console;verbosity=detailed"`.
/// OLA_SWIN_BENCH_BATCH (default 8) and OLA_SWIN_BENCH_REPEATS (default 1) change the run.
[Trait("Category", "Benchmark")]
public class OneFormerBenchmarkTests(ITestOutputHelper output)
{
    static long ProcKb(string field)
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field + ":"));
        return line is null ? -1 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    void Log(string s) { output.WriteLine(s); Console.WriteLine(s); }

    /// Time and peak RSS of the full-size Swin-L backbone forward (random weights, HF init) at batch 8 on
    /// OLA-VLM's 800×800 pixel_values, plus the seg target's interpolation, and the projected GPU cost per PT step.
    [Fact]
    public void SwinLargeForwardAtReferenceSize()
    {
        int batch = int.TryParse(Environment.GetEnvironmentVariable("OLA_SWIN_BENCH_BATCH"), out var b) ? b : 8;
        int repeats = int.TryParse(Environment.GetEnvironmentVariable("OLA_SWIN_BENCH_REPEATS"), out var r) ? r : 1;
        var config = SwinConfig.OneFormerCocoSwinLarge;
        manual_seed(0);
        var sw = Stopwatch.StartNew();
        using var teacher = new OneFormerSegTeacher(new SwinBackbone(config, CPU), new OneFormerPreprocess(new OneFormerProcessorConfig()), device: CPU);
        Log($"{Devices.Describe(CPU)}; Swin-L backbone built in {sw.Elapsed.TotalSeconds:0.0}s, RSS {ProcKb("VmRSS") / 1024} MiB");
        using var pixels = randn(batch, 3, 800, 800);
        // Resets VmHWM to the current RSS (Linux clear_refs 5), so the peak below is this forward's.
        try { File.WriteAllText("/proc/self/clear_refs", "5"); } catch (Exception e) { Log($"(peak RSS not reset: {e.Message})"); }
        for (int i = 0; i < repeats; i++)
        {
            sw.Restart();
            using var target = teacher.Encode(pixels);
            double s = sw.Elapsed.TotalSeconds;
            Log($"forward {i + 1}: batch {batch} × 3×800×800 → {Checked.Fmt(target.shape)} in {s:0.0}s ({s / batch:0.00} s/image)");
        }
        Log($"peak RSS {ProcKb("VmHWM") / 1024} MiB (process VmHWM since the reset), RSS now {ProcKb("VmRSS") / 1024} MiB");

        long macs = SwinFlops.Macs(config, 800, 800);
        Log($"FLOPs per image (2·MACs, SwinFlops): {2.0 * macs / 1e12:0.000} T; per PT step per GPU (32 images, pretrain.sh " +
            $"per_device_train_batch_size): {32 * 2.0 * macs / 1e12:0.0} T");
        foreach (var (gpu, peak) in new[] { ("A100 bf16 312 TFLOP/s", 312e12), ("H100 SXM bf16 989 TFLOP/s", 989e12) })
            Log($"{gpu}: {SwinFlops.ProjectedSeconds(macs, 32, peak, 1.0) * 1e3:0} ms at 100% utilisation, " +
                $"{SwinFlops.ProjectedSeconds(macs, 32, peak, 0.4) * 1e3:0} ms at 40%");
    }
}
