using System.Diagnostics;
using OlaVlm.Core;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// Speed figures (printed, never asserted). Run through the Benchmark-category tests.
public static class TeacherPerf
{
    public sealed record Throughput(double CachedBatchesPerSecond, double OnTheFlyBatchesPerSecond)
    {
        public double Ratio => CachedBatchesPerSecond / OnTheFlyBatchesPerSecond;
    }

    /// Batches per second of `cached` vs `onTheFly` over `batches` random batches of `ids` (after one
    /// warm-up batch each), and their ratio.
    public static Throughput TargetSourceThroughput(ITargetSource cached, ITargetSource onTheFly, IReadOnlyList<string> ids,
                                                    int batchSize = 32, int batches = 20, Device? device = null,
                                                    TextWriter? log = null, int seed = 0)
    {
        log ??= Console.Out;
        double Run(ITargetSource s)
        {
            var rng = new Random(seed);
            string[] Pick() => Enumerable.Range(0, batchSize).Select(_ => ids[rng.Next(ids.Count)]).ToArray();
            using (var scope = NewDisposeScope()) s.Get(Pick(), device);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < batches; i++) { using var scope = NewDisposeScope(); s.Get(Pick(), device); }
            return batches / sw.Elapsed.TotalSeconds;
        }
        var r = new Throughput(Run(cached), Run(onTheFly));
        log.WriteLine($"{cached.TeacherName} targets {Checked.Fmt(cached.TargetShape)}, batch {batchSize}: " +
                      $"cache {r.CachedBatchesPerSecond:0.0} batches/s, on-the-fly {r.OnTheFlyBatchesPerSecond:0.0} batches/s, ratio {r.Ratio:0.0}×");
        return r;
    }

    /// Builds a cache for `teacher` over `images` [N, 3, H, W] in `dir`, then measures it against on-the-fly targets.
    public static Throughput TargetSourceThroughput(ITeacher teacher, Tensor images, string dir, int batchSize = 32,
                                                    int batches = 20, TextWriter? log = null)
    {
        var sw = Stopwatch.StartNew();
        using var cache = TargetCache.Build(teacher, SyntheticScenes.WithIds(images), dir, "bench");
        (log ?? Console.Out).WriteLine($"{teacher.Name}: built cache of {cache.Count} targets in {sw.Elapsed.TotalSeconds:0.00}s ({new FileInfo(cache.DataPath).Length / 1e6:0.0} MB)");
        var byId = cache.ImageIds.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => images[p.i]);
        using var live = new OnTheFlyTargets(teacher, byId);
        return TargetSourceThroughput(cache, live, cache.ImageIds, batchSize, batches, teacher.Device, log);
    }

    /// Trains each Miniature teacher on `count` synthetic scenes (last 10% held out) and prints time and metrics.
    public static IReadOnlyList<(TeacherKind Kind, TrainReport Report, TeacherScore Score)> TrainMiniature(
        int count = 3000, TeacherTrainConfig? train = null, TextWriter? log = null, Device? device = null)
    {
        log ??= Console.Out;
        var (tr, val) = SyntheticScenes.Generate(count).Split(count / 10);
        log.WriteLine($"{Devices.Describe(device)}; {tr.Count} train / {val.Count} val scenes");
        var results = new List<(TeacherKind, TrainReport, TeacherScore)>();
        foreach (TeacherConfig cfg in new TeacherConfig[] { DepthTeacherConfig.Miniature, SegTeacherConfig.Miniature, GenTeacherConfig.Miniature })
        {
            using var t = MiniTeacher.Create(cfg, device);
            var c = train ?? new TeacherTrainConfig();
            var rep = TeacherTrainer.Train(t, tr, c.Steps, c);
            var score = t.Evaluate(val);
            log.WriteLine($"{t.Name} {Checked.Fmt(t.TargetShape)}: {c.Steps} steps × {c.BatchSize} in {rep.Seconds:0.0}s, " +
                          $"loss {rep.FirstLoss:0.###} → {rep.LastLoss:0.###}; val {score}");
            results.Add((cfg.Kind, rep, score));
        }
        return results;
    }
}
