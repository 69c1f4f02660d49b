using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// Figures, not asserts: run from the Benchmark test category or a notebook.
public static class TrainerPerf
{
    public sealed record RssResult(int Steps, double RssStartMiB, double RssEndMiB, double SecondsPerStep,
                                   IReadOnlyList<(int Step, double RssMiB)> Samples)
    {
        public double GrowthMiB => RssEndMiB - RssStartMiB;
        /// Growth over the second half only: the allocator and GC settle during the first thousands of
        /// steps (a raw TorchSharp loop does the same), so a leak shows as steady growth here.
        public double SecondHalfGrowthMiB => RssEndMiB - Samples.Last(s => s.Step <= Steps / 2).RssMiB;
        public override string ToString() =>
            $"{Steps} steps: RSS {RssStartMiB:F1} MiB after step 1 -> {RssEndMiB:F1} MiB after step {Steps} " +
            $"(growth {GrowthMiB:+0.0;-0.0} MiB, second half {SecondHalfGrowthMiB:+0.0;-0.0} MiB), {SecondsPerStep * 1000:F2} ms/step; " +
            "RSS by step: " + string.Join(", ", Samples.Select(s => $"{s.Step}: {s.RssMiB:F1}"));
    }

    /// Trains a 32 -> 128 -> 128 -> 32 MLP on random batches of 32 for `steps` steps through the Trainer
    /// (one DisposeScope per step) and prints RSS after the first and the last step: flat means no leak.
    /// collectGarbage: run the .NET GC before each reading, so the figure shows native (libtorch) memory
    /// rather than how much garbage gen0 happens to hold.
    public static RssResult RssFlat(int steps = 5000, TextWriter? log = null, bool collectGarbage = true)
    {
        log ??= Console.Out;
        var dir = Path.Combine(Path.GetTempPath(), "ola-rss-bench-" + Guid.NewGuid().ToString("N"));
        manual_seed(0);
        using var model = nn.Sequential(("fc1", nn.Linear(32, 128)), ("act1", nn.GELU()), ("fc2", nn.Linear(128, 128)),
                                        ("act2", nn.GELU()), ("fc3", nn.Linear(128, 32)));
        var cfg = new TrainConfig { Steps = steps, BatchSize = 32, LearningRate = 1e-3, LogEvery = Math.Max(1, steps / 10), OutputDir = dir };
        var samples = new List<(int, double)>();
        using var trainer = new Trainer(model, ParamGroups.Build(model, cfg), cfg, (step, micro) =>
        {
            // RSS at the start of step 1 (step 0 built the optimizer state), every tenth, and the last.
            if (step == 1 || step == steps - 1 || (step > 0 && step % Math.Max(1, steps / 10) == 0))
            {
                if (collectGarbage) { GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect(); }
                samples.Add((step, MemoryProbe.RssMiB()));
            }
            var x = randn(32, 32);
            return new LossParts(nn.functional.mse_loss(model.forward(x), x.flip(1)));
        }) { Progress = new SilentProgress() };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        trainer.Run();
        if (samples.Count == 0) samples.Add((steps, MemoryProbe.RssMiB()));
        var result = new RssResult(steps, samples[0].Item2, samples[^1].Item2, clock.Elapsed.TotalSeconds / steps, samples);
        log.WriteLine($"TrainerPerf.RssFlat: {result}");
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        return result;
    }
}
