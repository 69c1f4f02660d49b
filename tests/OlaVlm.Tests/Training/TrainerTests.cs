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
        Assert.Equal(16 * 3 / (t.History.Take(3).Sum(h => h.Seconds)), rows[0]["samples_per_s"], 1e-6);
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

    /// AdamW moves a weight of 1.0 by ~lr = 1e-3 a step, less than half of bf16's spacing there (2^-8): in bf16
    /// every update is rounded away; with fp32 master weights ten of them add up to 0.01 and reach the model.
    [Fact]
    public void Fp32MasterWeightsKeepUpdatesThatBf16WeightsRoundAway()
    {
        float WeightAfter(bool masters)
        {
            using var model = nn.Linear(1, 1, hasBias: false);
            using (no_grad()) model.weight!.fill_(1.0f);
            model.to(ScalarType.BFloat16);
            var cfg = Tiny.Config(Tiny.TempDir(), steps: 10) with
            {
                Bf16Weights = true, Fp32MasterWeights = masters, LearningRate = 1e-3, WarmupRatio = 0, MinLrRatio = 1, MaxGradNorm = 0,
            };
            using var x = linspace(0.5, 1.5, 16).view(16, 1).to(ScalarType.BFloat16);
            using var t = new Trainer(model, ParamGroups.Build(model, cfg), cfg,
                (s, m) => new LossParts(model.forward(x).pow(2).mean())) { Progress = new SilentProgress() };
            t.Run();
            Assert.Equal(ScalarType.BFloat16, model.weight!.dtype);
            return model.weight.to(ScalarType.Float32).item<float>();
        }
        Assert.Equal(1.0f, WeightAfter(masters: false));
        Assert.Equal(tensor(0.99f).to(ScalarType.BFloat16).to(ScalarType.Float32).item<float>(), WeightAfter(masters: true));
    }

    /// A checkpoint holds the fp32 copies (masters.safetensors), so a resumed bf16 run replays exactly.
    [Fact]
    public void Fp32MasterWeightsResumeReplaysExactly()
    {
        TrainConfig Cfg(string dir, int every = 0) => Tiny.Config(dir, steps: 6) with
            { Bf16Weights = true, Fp32MasterWeights = true, CheckpointEvery = every, LearningRate = 1e-3 };
        Dictionary<string, Tensor> Run(int? stopAfter, string dir, bool resume)
        {
            var model = new TinyMlp(3, dropout: 0);
            model.to(ScalarType.BFloat16);
            var cfg = Cfg(dir, every: 3);
            using var t = new Trainer(model, ParamGroups.Build(model, cfg), cfg, (s, m) =>
            {
                var (x, y) = Tiny.Batch(16);
                return new LossParts(nn.functional.mse_loss(model.forward(x.to(ScalarType.BFloat16)), y.to(ScalarType.BFloat16)));
            }) { Progress = new SilentProgress() };
            if (resume) Assert.True(t.Resume());
            t.Run(stopAfter);
            return Tiny.Snapshot(model);
        }
        var straight = Run(null, Tiny.TempDir(), resume: false);
        var dir = Tiny.TempDir();
        Run(3, dir, resume: false);
        Assert.True(File.Exists(Path.Combine(RunCheckpoint.Latest(dir)!, RunCheckpoint.MastersFile)));
        var resumed = Run(null, dir, resume: true);
        foreach (var (name, w) in straight) Assert.True(Tiny.Same(w, resumed[name]), $"{name} differs after the resume");
    }

    [Fact]
    public void Fp32MasterWeightsNeedBf16Weights()
    {
        var e = Assert.Throws<ArgumentException>(() => (Tiny.Config(Tiny.TempDir()) with { Fp32MasterWeights = true }).Validate());
        Assert.Contains("Fp32MasterWeights needs Bf16Weights", e.Message);
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
