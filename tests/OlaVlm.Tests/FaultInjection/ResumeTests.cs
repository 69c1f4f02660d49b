using OlaVlm.Tests.Training;
using static TorchSharp.torch;

namespace OlaVlm.Tests.FaultInjection;

/// In-process: an interrupt stops the Trainer between steps with a checkpoint; checkpoint cadence changes files,
/// never numbers; a restart without a checkpoint starts its metrics over; a damaged newest checkpoint is reported by
/// name and the previous one is used. Each ends bit-identical to the uninterrupted run.
[Collection(SerialCollection.Name)]
public class ResumeTests
{
    const int N = 8;

    static (List<double> Loss, Dictionary<string, Tensor> Weights) Straight(TrainConfig? overrides = null)
    {
        var dir = Tiny.TempDir();
        var cfg = (overrides ?? Tiny.Config(dir, N)) with { OutputDir = dir, Steps = N };
        using var m = new TinyMlp(5);
        using (var t = new Trainer(m, ParamGroups.Build(m, cfg), cfg, Tiny.MseStep(m)) { Progress = new SilentProgress(), Log = _ => { } })
            t.Run();
        return (MetricsLog.Column(MetricsLog.Read(dir), "loss").ToList(), Tiny.Snapshot(m));
    }

    static void AssertSame((List<double> Loss, Dictionary<string, Tensor> Weights) want, string dir, nn.Module m)
    {
        var rows = MetricsLog.Read(dir);
        Assert.Equal(Enumerable.Range(1, N).Select(i => (double)i), MetricsLog.Column(rows, "step"));
        Assert.Equal(want.Loss, MetricsLog.Column(rows, "loss"));
        foreach (var (name, p) in want.Weights) Assert.True(Tiny.Same(p, m.get_parameter(name)!), $"{name} differs");
    }

    /// A fresh model (other initial weights) resuming the run in `dir`: all it ends with comes from the checkpoint.
    static TinyMlp Resume(string dir, List<string>? log = null, TrainConfig? cfg = null, long seed = 999)
    {
        cfg ??= Tiny.Config(dir, N);
        var m = new TinyMlp(seed);
        using var t = new Trainer(m, ParamGroups.Build(m, cfg), cfg, Tiny.MseStep(m)) { Progress = new SilentProgress(), Log = l => log?.Add(l) };
        t.Resume();
        t.Run();
        return m;
    }

    [Fact]
    public void An_interrupt_stops_at_a_step_boundary_with_a_checkpoint_and_a_rerun_resumes_exactly()
    {
        var want = Straight();
        var dir = Tiny.TempDir();
        var cfg = Tiny.Config(dir, N);
        using (var m = new TinyMlp(5))
        {
            var step = Tiny.MseStep(m);
            using var t = new Trainer(m, ParamGroups.Build(m, cfg), cfg, (s, micro) => { if (s == 3) Interrupt.Request(); return step(s, micro); })
                { Progress = new SilentProgress(), Log = _ => { } };
            var e = Assert.Throws<TrainingInterruptedException>(() => t.Run());
            Assert.Equal(4, e.Step);   // step 4 finished, then the loop looked
            Assert.Equal(Path.Combine(RunCheckpoint.Root(dir), "step-000004"), e.Checkpoint);
            Assert.Contains("interrupted after step 4 of 8", e.Message);
        }
        Assert.False(Interrupt.Requested);   // a stop consumes the request: the next run trains
        using var resumed = Resume(dir);
        AssertSame(want, dir, resumed);
    }

    [Fact]
    public void A_cancelled_token_stops_training_too()
    {
        var dir = Tiny.TempDir();
        var cfg = Tiny.Config(dir, N);
        using var cts = new CancellationTokenSource();
        using var m = new TinyMlp(5);
        var step = Tiny.MseStep(m);
        using var t = new Trainer(m, ParamGroups.Build(m, cfg), cfg, (s, micro) => { if (s == 1) cts.Cancel(); return step(s, micro); })
            { Progress = new SilentProgress(), Log = _ => { } };
        using (Interrupt.Watch(cts.Token))
            Assert.Equal(2, Assert.Throws<TrainingInterruptedException>(() => t.Run()).Step);
        Assert.Equal(0, Interrupt.Active);
    }

    [Fact]
    public void Checkpoint_cadence_changes_the_files_not_the_numbers()
    {
        var none = Straight();
        var everyStep = Straight(Tiny.Config("", N) with { CheckpointEvery = 1 });
        var byTime = Straight(Tiny.Config("", N) with { CheckpointMinutes = 1e-9 });   // a checkpoint after every step, by the clock
        foreach (var other in new[] { everyStep, byTime })
        {
            Assert.Equal(none.Loss, other.Loss);
            foreach (var (name, p) in none.Weights) Assert.True(Tiny.Same(p, other.Weights[name]), name);
        }
    }

    [Fact]
    public void A_restart_without_a_checkpoint_starts_its_metrics_over_instead_of_appending()
    {
        var want = Straight();
        var dir = Tiny.TempDir();
        // What a run killed before its first checkpoint leaves: rows, no checkpoint.
        var stale = new MetricsLog(dir);
        for (int s = 1; s <= 5; s++) stale.Append([new("step", s), new("loss", 9.0)]);
        var log = new List<string>();
        using var m = Resume(dir, log, seed: 5);   // no checkpoint: the run starts over from the same initial weights
        Assert.Contains(log, l => l.Contains("starting over"));
        AssertSame(want, dir, m);
    }

    [Theory]
    [InlineData("model.safetensors", "truncate")]
    [InlineData("model.safetensors", "flip")]
    [InlineData("optimizer.bin", "flip")]
    [InlineData("trainer.json", "flip")]
    [InlineData("trainer.json", "truncate")]
    public void A_damaged_newest_checkpoint_is_named_and_the_previous_one_is_used(string file, string how)
    {
        var want = Straight();
        var dir = Tiny.TempDir();
        var cfg = Tiny.Config(dir, N) with { CheckpointEvery = 2 };
        using (var m = new TinyMlp(5))
        using (var t = new Trainer(m, ParamGroups.Build(m, cfg), cfg, Tiny.MseStep(m)) { Progress = new SilentProgress(), Log = _ => { } })
            t.Run(stopAfter: 6);
        var newest = Path.Combine(RunCheckpoint.Root(dir), "step-000006", file);
        if (how == "truncate") Damage.Truncate(newest); else Damage.FlipRandom(newest, seed: file.Length);
        var log = new List<string>();
        using var resumed = Resume(dir, log, cfg);
        Assert.Contains(log, l => l.Contains("step-000006") && l.Contains("damaged"));
        Assert.Contains(log, l => l.Contains("resuming from") && l.Contains("step-000004"));
        AssertSame(want, dir, resumed);
        Assert.Empty(Damage.Stray(dir));
    }
}
