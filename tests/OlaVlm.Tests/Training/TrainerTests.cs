using OlaVlm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Training;

[Collection(SerialCollection.Name)]
public class TrainerTests
{
    [Fact]
    public void GradAccumulationOfKMicroBatchesEqualsOneBigBatch()
    {
        using var data = randn(8, 4);
        using var target = randn(8, 2);
        Dictionary<string, Tensor> GradsAfterOneStep(int k)
        {
            var model = new TinyMlp(3, dropout: 0);
            var cfg = Tiny.Config(Tiny.TempDir(), steps: 1) with { GradAccum = k, BatchSize = 8 / k, MaxGradNorm = 0 };
            using var t = new Trainer(model, ParamGroups.Build(model, cfg), cfg, (step, micro) =>
            {
                var rows = arange(micro * 8 / k, (micro + 1) * 8 / k);
                return new LossParts(nn.functional.mse_loss(model.forward(data[rows]), target[rows]));
            }) { Progress = new SilentProgress() };
            t.Run();
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        }
        var big = GradsAfterOneStep(1);
        var accumulated = GradsAfterOneStep(4);
        foreach (var (name, g) in big)
            Assert.True(allclose(g, accumulated[name], rtol: 1e-5, atol: 1e-7), $"{name} differs");
    }

    [Fact]
    public void ClippingBoundsTheGradientNorm()
    {
        using var model = new TinyMlp(1);
        var cfg = Tiny.Config(Tiny.TempDir(), steps: 1) with { MaxGradNorm = 0.01 };
        using var t = new Trainer(model, ParamGroups.Build(model, cfg), cfg, Tiny.MseStep(model)) { Progress = new SilentProgress() };
        var rec = t.Run()[0];
        Assert.True(rec.GradNorm > 0.01, $"pre-clip norm {rec.GradNorm} should exceed the limit for this test to mean anything");
        var after = Math.Sqrt(model.parameters().Sum(p => p.grad!.pow(2).sum().ToDouble()));
        Assert.InRange(after, 0, 0.01 * (1 + 1e-4));
    }

    [Fact]
    public void ResumeReproducesTheUninterruptedCurveExactly()
    {
        const int N = 4;
        // Straight: 2N steps in one go.
        var straightDir = Tiny.TempDir();
        using var m1 = new TinyMlp(5);
        var cfg1 = Tiny.Config(straightDir, steps: 2 * N);
        using (var t = new Trainer(m1, ParamGroups.Build(m1, cfg1), cfg1, Tiny.MseStep(m1)) { Progress = new SilentProgress() })
            t.Run();
        var straight = MetricsLog.Read(straightDir);

        // Interrupted: checkpoint at N, two more steps "lost" in a crash, a new process resumes from N.
        var dir = Tiny.TempDir();
        var cfg = Tiny.Config(dir, steps: 2 * N) with { CheckpointEvery = N };
        using (var m2 = new TinyMlp(5))
        using (var t = new Trainer(m2, ParamGroups.Build(m2, cfg), cfg, Tiny.MseStep(m2)) { Progress = new SilentProgress() })
            t.Run(stopAfter: N + 2);
        using var m3 = new TinyMlp(999); // different initial weights: everything must come from the checkpoint
        using var resumed = new Trainer(m3, ParamGroups.Build(m3, cfg), cfg, Tiny.MseStep(m3)) { Progress = new SilentProgress() };
        Assert.True(resumed.Resume(Path.Combine(RunCheckpoint.Root(dir), RunCheckpoint.Name(N))));
        Assert.Equal(N, resumed.Step);
        resumed.Run();

        var rows = MetricsLog.Read(dir);
        Assert.Equal(Enumerable.Range(1, 2 * N).Select(i => (double)i), MetricsLog.Column(rows, "step"));
        foreach (var col in new[] { "loss", "mse", "l1", "grad_norm", "lr_all" })
            Assert.Equal(MetricsLog.Column(straight, col), MetricsLog.Column(rows, col)); // bit-for-bit
        foreach (var (name, p) in m1.named_parameters())
            Assert.True(Tiny.Same(p, m3.get_parameter(name)!), $"{name} differs after resume");
    }

    [Fact]
    public void NonFiniteLossStopsNamingStepAndPart_LastCheckpointIntact()
    {
        var dir = Tiny.TempDir();
        using var model = new TinyMlp(2);
        var cfg = Tiny.Config(dir, steps: 6) with { CheckpointEvery = 2 };
        var inner = Tiny.MseStep(model);
        Dictionary<string, Tensor>? atStep3 = null;
        using var t = new Trainer(model, ParamGroups.Build(model, cfg), cfg, (step, micro) =>
        {
            var lp = inner(step, micro);
            if (step < 3) return lp;
            atStep3 ??= Tiny.Snapshot(model);
            foreach (var v in atStep3.Values) v.DetachFromDisposeScope();
            return new LossParts(lp.Loss, ("mse", lp.Loss), ("emb", tensor(float.NaN)));
        }) { Progress = new SilentProgress() };

        var e = Assert.Throws<NonFiniteLossException>(() => t.Run());
        Assert.Equal(4, e.Step);
        Assert.Equal("emb", e.Part);
        Assert.Contains("step 4", e.Message);
        Assert.Contains("'emb'", e.Message);

        // No update applied for the bad step, and the newest checkpoint is still step 2.
        foreach (var (name, p) in model.named_parameters())
            Assert.True(Tiny.Same(p, atStep3![name]), $"{name} was updated by the bad step");
        Assert.Equal(Path.Combine(RunCheckpoint.Root(dir), RunCheckpoint.Name(2)), RunCheckpoint.Latest(dir));
        Assert.Equal(["step-000002"], Directory.GetDirectories(RunCheckpoint.Root(dir)).Select(Path.GetFileName));
        using var check = new TinyMlp(77);
        RunCheckpoint.LoadModel(check, Path.Combine(RunCheckpoint.Latest(dir)!, RunCheckpoint.ModelFile));
        Assert.Equal(2, RunCheckpoint.ReadState(RunCheckpoint.Latest(dir)!).Step);
    }

    [Fact]
    public void MetricsFilesHoldEveryLoggedStepWithTheRightColumns()
    {
        var dir = Tiny.TempDir();
        using var model = new TinyMlp(1);
        var cfg = Tiny.Config(dir, steps: 7) with { LogEvery = 3 };
        var groups = ParamGroups.Build(model, cfg with { WeightDecay = 0.01 }, [GroupRule.Prefix("proj", 1e-3, "fc1"), GroupRule.Rest()]);
        using var t = new Trainer(model, groups, cfg, Tiny.MseStep(model))
        {
            Progress = new SilentProgress(),
            Eval = step => new Dictionary<string, double> { ["val_mse"] = step * 0.5 },
        };
        t.Run();

        string[] columns = ["step", "lr_proj", "lr_proj.no_decay", "lr_rest", "lr_rest.no_decay", "loss", "mse", "l1",
                            "grad_norm", "sec_per_step", "samples_per_s"];
        var rows = MetricsLog.Read(dir);
        Assert.Equal([3.0, 6.0, 7.0], MetricsLog.Column(rows, "step"));
        foreach (var r in rows) Assert.Equal(columns, r.Keys);
        var csv = File.ReadAllLines(Path.Combine(dir, "metrics.csv"));
        Assert.Equal(string.Join(',', columns), csv[0]);
        Assert.Equal(4, csv.Length);
        Assert.Equal(t.History[2].Loss, rows[0]["loss"]);              // row for step 3 = third step's loss
        Assert.Equal(16 * 3 / (t.History.Take(3).Sum(h => h.Seconds)), rows[0]["samples_per_s"], 6);
        Assert.Equal([7.0], MetricsLog.Column(MetricsLog.Read(dir, "eval"), "step"));
    }

    [Fact]
    public void ALossThatCannotBackpropagateIsExplained()
    {
        using var model = new TinyMlp(1);
        var cfg = Tiny.Config(Tiny.TempDir(), steps: 1);
        using var t = new Trainer(model, ParamGroups.Build(model, cfg), cfg, (s, m) => new LossParts(tensor(1.0f))) { Progress = new SilentProgress() };
        var e = Assert.Throws<InvalidOperationException>(() => t.Run());
        Assert.Contains("does not require grad", e.Message);
    }

    [Fact]
    public void Bf16WeightsTrainOnCpu()
    {
        using var model = new TinyMlp(1, dropout: 0);
        var cfg = Tiny.Config(Tiny.TempDir(), steps: 5) with { Bf16Weights = true, LearningRate = 3e-2, WarmupRatio = 0 };
        model.to(cfg.WeightDtype);
        var groups = ParamGroups.Build(model, cfg);
        var before = Tiny.Snapshot(model);
        using var t = new Trainer(model, groups, cfg, (s, m) =>
        {
            var (x, y) = Tiny.Batch(64);
            return new LossParts(nn.functional.mse_loss(model.forward(x.to(ScalarType.BFloat16)), y.to(ScalarType.BFloat16)));
        }) { Progress = new SilentProgress() };
        var h = t.Run();
        Assert.All(h, r => Assert.True(double.IsFinite(r.Loss)));
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        Assert.Contains(model.named_parameters(), p => !Tiny.Same(p.parameter, before[p.name]));
        // Reload the bf16 checkpoint into a float32 model: copy_ converts.
        using var f32 = new TinyMlp(9);
        RunCheckpoint.LoadModel(f32, Path.Combine(RunCheckpoint.Latest(t.RunDir)!, RunCheckpoint.ModelFile));
        Assert.True(Tiny.Same(f32.get_parameter("fc2.weight")!, model.get_parameter("fc2.weight")!.to(ScalarType.Float32)));
    }

    [Fact]
    public void Bf16FlagMustMatchTheWeights()
    {
        using var model = new TinyMlp(1);
        var cfg = Tiny.Config(Tiny.TempDir()) with { Bf16Weights = true };
        var e = Assert.Throws<ArgumentException>(() => new Trainer(model, ParamGroups.Build(model, cfg), cfg, Tiny.MseStep(model)));
        Assert.Contains("BFloat16", e.Message);
    }
}
