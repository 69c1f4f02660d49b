using OlaVlm.Data;
using OlaVlm.Model;
using OlaVlm.Ola;
using OlaVlm.Teachers;
using OlaVlm.Text;
using OlaVlm.Training;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// Speed and memory figures of the PT stage (printed, never asserted): step time with cached teacher
/// targets vs running the teachers every step, and process RSS over a long PT run.
/// Setup: the quick world, miniature CLIP + LLM + teachers at random init (speed does not depend on training).
public static class StagePerf
{
    public sealed record StepTimes(double CachedSecondsPerStep, double OnTheFlySecondsPerStep)
    {
        public double Ratio => OnTheFlySecondsPerStep / CachedSecondsPerStep;
    }

    public sealed record RssReport(double RssStartMiB, double RssEndMiB, int Steps, IReadOnlyList<(int Step, double RssMiB)> Samples)
    {
        public double GrowthMiB => RssEndMiB - RssStartMiB;
    }

    sealed record Setup(WorldData World, FoundationParts Foundation, ITeacher[] Teachers, LlavaDataset Pt, ImageBank Bank, ConversationStageData Data, string Dir) : IDisposable
    {
        public void Dispose() { Bank.Dispose(); Data.Data.Dispose(); foreach (var t in Teachers) t.Dispose(); }
    }

    static Setup Build(Device device)
    {
        var world = OlaVlm.World.MiniWorld.Build(WorldConfig.Quick);
        var template = ChatTemplate.Miniature();
        var tok = WorldTokenizer.Build(template);
        using (manual_seed(0)) { }
        var f = new FoundationParts(new ClipVisionModel(ClipVisionConfig.Miniature(), device), new LlamaForCausalLM(LlamaConfig.Miniature(tok.VocabSize), device), tok, template);
        var teachers = new ITeacher[] { MiniTeacher.Create(DepthTeacherConfig.Miniature, device), MiniTeacher.Create(SegTeacherConfig.Miniature, device), MiniTeacher.Create(GenTeacherConfig.Miniature, device) };
        var pt = LlavaDataset.Load(world.PtJson);
        var bank = ImageBank.Load(pt);
        var data = new ConversationStageData(new ConversationData(pt, tok, template), tok.ImageId);
        return new Setup(world, f, teachers, pt, bank, data, Core.Paths.OutDir("bench", "stages", Guid.NewGuid().ToString("N")));
    }

    static OlaVlmModel NewModel(Setup s, IReadOnlyDictionary<OlaTask, ITargetSource> targets, Device device) =>
        OlaVlmModel.Create(s.Foundation.NewLlava(0, device), OlaConfig.Miniature.ForTeachers(targets));

    /// Median seconds per PT step (after `warmup` steps) with cached vs on-the-fly targets, batch 16.
    public static StepTimes PtStepTime(int steps = 30, int warmup = 5, int batchSize = 16, TextWriter? log = null, Device? device = null)
    {
        log ??= Console.Out;
        device ??= Core.Devices.Default;
        using var s = Build(device);
        var cached = WorldTeachers.Cached(s.Teachers, s.Pt, s.Bank, "pt", Path.Combine(s.Dir, "targets"));
        var live = WorldTeachers.OnTheFly(s.Teachers, s.Bank);
        double Median(IReadOnlyDictionary<OlaTask, ITargetSource> src, string name)
        {
            var cfg = StageConfig.QuickPretrain with { Steps = steps + warmup, BatchSize = batchSize, LogEvery = 10 };
            var r = Stage.Run(NewModel(s, src, device), cfg, s.Data, src, Path.Combine(s.Dir, name), progress: new ConsoleProgress(TextWriter.Null));
            var t = r.History.Skip(warmup).Select(h => h.Seconds).Order().ToList();
            return t[t.Count / 2];
        }
        var result = new StepTimes(Median(cached, "cached"), Median(live, "live"));
        log.WriteLine($"PT step (batch {batchSize}, {Core.Devices.Describe(device)}): cached targets {1000 * result.CachedSecondsPerStep:F1} ms, " +
                      $"on-the-fly teachers {1000 * result.OnTheFlySecondsPerStep:F1} ms, ratio {result.Ratio:F2}×");
        foreach (var c in cached.Values) c.Dispose();
        return result;
    }

    /// RSS at step 0 (after the first step, so allocator warm-up is not counted as growth) and at `steps`
    /// of a PT run with cached targets. GC runs before each reading (managed garbage is not a leak).
    public static RssReport PtRss(int steps = 1000, int batchSize = 8, TextWriter? log = null, Device? device = null)
    {
        log ??= Console.Out;
        device ??= Core.Devices.Default;
        using var s = Build(device);
        var cached = WorldTeachers.Cached(s.Teachers, s.Pt, s.Bank, "pt", Path.Combine(s.Dir, "targets"));
        var probe = new RssProgress(Math.Max(1, steps / 10));
        var cfg = StageConfig.QuickPretrain with { Steps = steps, BatchSize = batchSize, LogEvery = 50 };
        Stage.Run(NewModel(s, cached, device), cfg, s.Data, cached, Path.Combine(s.Dir, "rss"), progress: probe);
        var r = new RssReport(probe.Samples[0].RssMiB, probe.Samples[^1].RssMiB, steps, probe.Samples);
        log.WriteLine($"PT RSS over {steps} steps (batch {batchSize}): step 1 {r.RssStartMiB:F1} MiB, step {steps} {r.RssEndMiB:F1} MiB, growth {r.GrowthMiB:+0.0;-0.0} MiB");
        log.WriteLine("  " + string.Join(", ", probe.Samples.Select(p => $"{p.Step}: {p.RssMiB:F0}")));
        foreach (var c in cached.Values) c.Dispose();
        return r;
    }

    sealed class RssProgress(int every) : IProgressReporter
    {
        public List<(int Step, double RssMiB)> Samples { get; } = [];
        int _total;
        public void Start(int total, string title) => _total = total;
        public void Report(int step, string text)
        {
            if (step != 1 && step % every != 0 && step != _total) return;
            GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
            Samples.Add((step, MemoryProbe.RssMiB()));
        }
        public void Finish(string text) { }
    }
}
