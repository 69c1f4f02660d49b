using OlaVlm.Stages;
using OlaVlm.Training;
using Xunit;
using static OlaVlm.Tests.Stages.StageFixture;

namespace OlaVlm.Tests.Stages;

[Collection(SerialTorchCollection.Name)]
public class StageTests
{
    static readonly IProgressReporter Quiet = new ConsoleProgress(TextWriter.Null);

    static StageConfig Pt(int steps = 3) => StageConfig.QuickPretrain with { Steps = steps, BatchSize = 4, ProjectorLr = 1e-2, OlaLr = 1e-2, WarmupRatio = 0 };
    static StageConfig Ift(int steps = 3) => StageConfig.QuickFinetune with { Steps = steps, BatchSize = 4, ProjectorLr = 1e-2, LlmLr = 1e-2, WarmupRatio = 0 };

    static (List<string> Same, List<string> Changed) Compare(Dictionary<string, TorchSharp.torch.Tensor> before, OlaVlmModel m)
    {
        var same = new List<string>(); var changed = new List<string>();
        foreach (var (name, p) in m.named_parameters().Select(x => (x.name, x.parameter)))
            (Same(before[name], p) ? same : changed).Add(name);
        return (same, changed);
    }

    [Fact]
    public void Pretrain_changes_projector_predictors_and_task_tokens_only()
    {
        var m = NewModel();
        var before = Snapshot(m);
        var r = Stage.Run(m, Pt(), NewData(), Targets(), RunDir("pt"), progress: Quiet);
        Assert.True(r.EmbeddingLoss);
        var (same, changed) = Compare(before, m);
        Assert.All(same.Concat(changed).Where(n => n.StartsWith("llava.language_model") || n.StartsWith("llava.vision_tower")),
                   n => Assert.Contains(n, same));
        foreach (var prefix in new[] { "llava.mm_projector", "ola.task_tokens", "ola.image_depth_heads", "ola.image_seg_heads", "ola.image_gen_heads" })
            Assert.Contains(changed, n => Freezing.HasPrefix(n, prefix) || n.StartsWith(prefix + "."));
        Assert.Contains("emb/depth", r.Metrics[0].Keys);
        Assert.Contains(r.Metrics[0].Keys, k => k.StartsWith("emb/seg/L"));
    }

    [Fact]
    public void Finetune_changes_projector_and_llm_but_not_task_tokens_or_predictors()
    {
        var m = NewModel();
        var before = Snapshot(m);
        var r = Stage.Run(m, Ift(), NewData(16, textOnly: 0.25), Targets(), RunDir("ift"), progress: Quiet);
        Assert.False(r.EmbeddingLoss);
        var (same, changed) = Compare(before, m);
        Assert.All(before.Keys.Where(n => n.StartsWith("ola.") || n.StartsWith("llava.vision_tower")), n => Assert.Contains(n, same));
        Assert.Contains(changed, n => n.StartsWith("llava.mm_projector."));
        Assert.Contains(changed, n => n.StartsWith("llava.language_model.model.layers."));
        Assert.DoesNotContain("emb", r.Metrics[0].Keys);
    }

    [Fact]
    public void Embedding_loss_in_finetune_ablation_trains_predictors_but_keeps_task_tokens_frozen()
    {
        var m = NewModel();
        var before = Snapshot(m);
        var r = Stage.Run(m, Ift() with { EmbeddingLoss = true }, NewData(), Targets(), RunDir("ift-emb"), progress: Quiet);
        Assert.True(r.EmbeddingLoss);
        var (same, changed) = Compare(before, m);
        Assert.All(before.Keys.Where(n => n.StartsWith("ola.task_tokens")), n => Assert.Contains(n, same));
        Assert.Contains(changed, n => n.StartsWith("ola.image_depth_heads."));
    }

    [Fact]
    public void Baseline_pretrain_trains_only_the_projector()
    {
        var m = NewModel(heads: false);
        var before = Snapshot(m);
        var r = Stage.Run(m, Pt(), NewData(), null, RunDir("pt-base"), progress: Quiet);
        Assert.False(r.EmbeddingLoss);
        var (same, changed) = Compare(before, m);
        Assert.All(changed, n => Assert.StartsWith("llava.mm_projector.", n));
        Assert.NotEmpty(changed);
    }

    [Fact]
    public void Tiny_pretrain_run_lowers_the_total_loss()
    {
        var m = NewModel(seed: 1);
        var r = Stage.Run(m, Pt(steps: 30) with { BatchSize = 8 }, NewData(16), Targets(), RunDir("pt-falls"), progress: Quiet);
        var loss = MetricsLog.Column(r.Metrics, "loss");
        double first = loss.Take(3).Average(), last = loss.TakeLast(3).Average();
        Assert.True(last < 0.9 * first, $"loss {first:F4} → {last:F4}");
        var emb = MetricsLog.Column(r.Metrics, "emb");
        Assert.True(emb.TakeLast(3).Average() < emb.Take(3).Average(), "embedding loss should fall too");
    }

    [Fact]
    public void Resumed_pretrain_reproduces_the_uninterrupted_loss_curve()
    {
        var cfg = Pt(steps: 6);
        var full = Stage.Run(NewModel(seed: 2), cfg, NewData(), Targets(), RunDir("resume-a"), progress: Quiet);

        var dir = RunDir("resume-b");
        var first = Stage.Run(NewModel(seed: 2), cfg, NewData(), Targets(), dir, stopAfter: 3, progress: Quiet);
        Assert.Equal(3, first.History.Count);
        // A new process would rebuild the model from scratch; the checkpoint restores weights and optimizer.
        var resumed = Stage.Run(NewModel(seed: 77), cfg, NewData(), Targets(), dir, progress: Quiet);
        Assert.Equal([4, 5, 6], resumed.History.Select(h => h.Step));
        Assert.Equal(MetricsLog.Column(full.Metrics, "loss"), MetricsLog.Column(resumed.Metrics, "loss"));
        Assert.Equal(MetricsLog.Column(full.Metrics, "emb"), MetricsLog.Column(resumed.Metrics, "emb"));
        // Running a complete stage again does nothing.
        Assert.Empty(Stage.Run(NewModel(seed: 2), cfg, NewData(), Targets(), dir, progress: Quiet).History);
    }

    [Fact]
    public void Nan_loss_stops_with_a_clear_message()
    {
        var m = NewModel();
        using (TorchSharp.torch.no_grad())
            m.Llava.MmProjector.parameters().First().fill_(double.NaN);
        var e = Assert.Throws<NonFiniteLossException>(() => Stage.Run(m, Pt(), NewData(), Targets(), RunDir("nan"), progress: Quiet));
        Assert.Contains("step 1", e.Message);
        Assert.Contains("NaN", e.Message);
    }

    [Fact]
    public void Visual_pretrain_trains_the_vision_tower_too()
    {
        var m = NewModel();
        var before = Snapshot(m);
        var r = Stage.Run(m, StageConfig.QuickVisualPretrain with { Steps = 2, BatchSize = 4, WarmupRatio = 0 }, NewData(), Targets(), RunDir("vpt"), progress: Quiet);
        Assert.False(r.EmbeddingLoss);
        var (_, changed) = Compare(before, m);
        Assert.Contains(changed, n => n.StartsWith("llava.vision_tower."));
        Assert.Contains(changed, n => n.StartsWith("ola.task_tokens."));
        Assert.False(m.Llava.TrainVisionTower);
    }

    [Fact]
    public void Bf16_weights_train_the_baseline_and_ola_heads()
    {
        var m = NewModel(heads: false);
        var r = Stage.Run(m, Pt(steps: 2) with { Bf16Weights = true }, NewData(), null, RunDir("bf16"), progress: Quiet);
        Assert.Equal(TorchSharp.torch.ScalarType.BFloat16, m.Llava.MmProjector.parameters().First().dtype);
        Assert.All(MetricsLog.Column(r.Metrics, "ntp"), v => Assert.True(double.IsFinite(v) && v > 0));
        // With heads: module.to(bf16) replaces parameter objects; the heads must follow (no stale references).
        var ola = NewModel();
        var r2 = Stage.Run(ola, Pt(steps: 2) with { Bf16Weights = true }, NewData(), Targets(), RunDir("bf16-ola"), progress: Quiet);
        var tokens = ola.Heads!.TaskTokens;
        foreach (var task in ola.Heads.Config.Tasks)
        {
            Assert.Equal(TorchSharp.torch.ScalarType.BFloat16, tokens.Query(task).dtype);
            Assert.True(tokens.Query(task).requires_grad);
        }
        Assert.All(MetricsLog.Column(r2.Metrics, "emb"), v => Assert.True(double.IsFinite(v) && v > 0));
    }

    /// StageConfig.Fp32MasterWeights reaches the Trainer: OLA-VLM's PT trains in bf16 with fp32 copies of its
    /// trainable weights, which the checkpoint keeps beside the bf16 model.
    [Fact]
    public void Bf16_with_fp32_master_weights_trains_and_checkpoints_the_copies()
    {
        var ola = NewModel();
        var dir = RunDir("bf16-masters");
        var r = Stage.Run(ola, Pt(steps: 2) with { Bf16Weights = true, Fp32MasterWeights = true }, NewData(), Targets(), dir, progress: Quiet);
        Assert.Equal(TorchSharp.torch.ScalarType.BFloat16, ola.Llava.MmProjector.parameters().First().dtype);
        Assert.All(MetricsLog.Column(r.Metrics, "loss"), v => Assert.True(double.IsFinite(v) && v > 0));
        var masters = TorchSharp.PyBridge.Safetensors.LoadStateDict(Path.Combine(RunCheckpoint.Latest(dir)!, RunCheckpoint.MastersFile));
        Assert.Contains("llava.mm_projector.0.weight", masters.Keys);
        Assert.Contains(masters.Keys, k => k.StartsWith("ola.task_tokens."));
        Assert.All(masters.Values, t => Assert.Equal(TorchSharp.torch.ScalarType.Float32, t.dtype));
        // The model holds the copies rounded to bf16.
        var w = ola.Llava.MmProjector.named_parameters().First(p => p.name == "0.weight").parameter;
        Assert.True(masters["llava.mm_projector.0.weight"].to(TorchSharp.torch.ScalarType.BFloat16).eq(w).all().item<bool>());
    }
}
