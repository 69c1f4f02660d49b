using OlaVlm.Model;
using OlaVlm.Stages;
using OlaVlm.Training;
using TorchSharp;
using Xunit.Abstractions;
using static OlaVlm.Tests.Stages.StageFixture;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Training;

/// LoRA on the tiny LLaVA of StageFixture (LLM hidden 32 × 2 layers): where adapters go, what trains, merging,
/// and the PEFT-layout round trip.
[Collection(OlaVlm.Tests.Stages.SerialTorchCollection.Name)]
public class LoraTests(ITestOutputHelper output)
{
    static readonly IProgressReporter Quiet = new ConsoleProgress(TextWriter.Null);
    static readonly string[] LlamaLinears = ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"];
    static LoraConfig Tiny => LoraConfig.Miniature with { R = 4, Alpha = 8, Dropout = 0 };

    /// Gives every adapter non-zero A and B, so merging has something to fold in.
    internal static void Randomize(nn.Module model, long seed)
    {
        var g = new Generator((ulong)seed);
        using var _ = no_grad();
        foreach (var (_, l) in Lora.Adapters(model))
        {
            l.LoraA.copy_(randn(l.LoraA.shape, generator: g) * 0.3);
            l.LoraB.copy_(randn(l.LoraB.shape, generator: g) * 0.3);
        }
    }

    static Tensor Logits(OlaVlmModel m, StageBatch b)
    {
        using var _ = no_grad();
        using var fw = m.Llava.forward(b.Pixels, b.Samples);
        return fw.Output.Logits.detach().clone();
    }

    static StageBatch Batch() => NewData(8, textOnly: 0.25).Batch(0, 0, 8, CPU);

    [Fact]
    public void Llava_rule_targets_every_llm_linear_and_nothing_on_the_vision_side()
    {
        var m = NewModel(heads: false);
        Assert.Equal(LlamaLinears, Lora.LlavaTargets(m.Llava));
        var before = m.Llava.state_dict().Keys.ToHashSet();
        var b = Batch();
        var logits = Logits(m, b);
        var wrapped = Lora.Apply(m.Llava, Tiny);
        Assert.Equal(7 * 2, wrapped.Count);
        Assert.All(wrapped, n => Assert.StartsWith("language_model.model.layers.", n));
        var after = m.Llava.state_dict().Keys.ToHashSet();
        Assert.Subset(after, before);   // base weights keep their names
        Assert.All(after.Except(before), n => Assert.True(Lora.IsAdapterParameter(n), n));
        Assert.Equal(2 * 14, after.Count - before.Count);
        // B starts at zero: the adapted model computes exactly what the base model did.
        Assert.True(Same(logits, Logits(m, b)));
        Assert.Throws<InvalidOperationException>(() => Lora.Apply(m.Llava, Tiny));
        Assert.Throws<ArgumentException>(() => Lora.Apply(NewModel(heads: false).Llava, Tiny with { TargetModules = ["qproj"] }));
    }

    [Fact]
    public void Merged_forward_equals_adapter_forward_and_unload_restores_the_plain_layout()
    {
        var m = NewModel(heads: false);
        var names = m.Llava.state_dict().Keys.ToHashSet();
        Lora.Apply(m.Llava, Tiny);
        Randomize(m.Llava, 3);
        m.eval();
        var b = Batch();
        var adapter = Logits(m, b);
        var w0 = Lora.Adapters(m.Llava).First().Layer.Weight.detach().clone();
        Lora.Merge(m.Llava);
        double merged = (Logits(m, b) - adapter).abs().max().item<float>();
        output.WriteLine($"max |merged − adapter| logits: {merged:E2}");
        Assert.True(merged < 1e-4, $"merged forward differs by {merged}");
        Lora.Unmerge(m.Llava);
        Assert.True((Lora.Adapters(m.Llava).First().Layer.Weight - w0).abs().max().item<float>() < 1e-6);
        Lora.MergeAndUnload(m.Llava);
        Assert.Empty(Lora.Adapters(m.Llava));
        Assert.Equal(names.OrderBy(n => n), m.Llava.state_dict().Keys.OrderBy(n => n));
        Assert.True((Logits(m, b) - adapter).abs().max().item<float>() < 1e-4);
    }

    [Fact]
    public void Lora_finetune_gives_gradients_to_adapters_and_projector_only()
    {
        var m = NewModel();
        var cfg = StageConfig.QuickFinetune with { BatchSize = 4, Lora = Tiny };
        var groups = Stage.Prepare(m, cfg);
        Assert.Equal(Tiny.LearningRate, groups.Groups.Single(g => g.Name == "llm").Lr);
        Assert.Equal(cfg.ProjectorLr, groups.Groups.Single(g => g.Name == "projector").Lr);
        var data = NewData(8, textOnly: 0.25);
        var parts = Stage.Loss(m, data.Batch(0, 0, 4, CPU), Targets(), embeddingLoss: false);
        parts.Loss.backward();
        var withGrad = m.named_parameters().Where(p => p.parameter.grad is not null).Select(p => p.name).ToList();
        Assert.All(withGrad, n => Assert.True(Lora.IsAdapterParameter(n) || n.StartsWith("llava.mm_projector."), n));
        Assert.Contains(withGrad, n => n.EndsWith("lora_B.weight"));
        Assert.Contains(withGrad, n => n.StartsWith("llava.mm_projector."));
        Assert.Equal(withGrad.OrderBy(n => n), groups.Groups.SelectMany(g => g.Params.Select(p => p.Name)).OrderBy(n => n));
    }

    [Fact]
    public void Lora_finetune_lowers_the_loss_and_changes_no_base_weight()
    {
        var m = PretrainedTiny.Model();
        var before = Snapshot(m);
        var cfg = StageConfig.QuickFinetune with { Steps = 30, BatchSize = 8, OneHopSteps = 0, WarmupRatio = 0.1, ProjectorLr = 1e-2, Seed = 11,
                                                   Lora = LoraConfig.Miniature with { LearningRate = 3e-3 } };
        var r = Stage.Run(m, cfg, PretrainedTiny.TaskB(), null, RunDir("lora-ift"), progress: Quiet);
        var loss = MetricsLog.Column(r.Metrics, "loss");
        double first = loss.Take(3).Average(), last = loss.TakeLast(3).Average();
        output.WriteLine($"LoRA IFT loss {first:F4} → {last:F4}");
        Assert.True(last < 0.7 * first, $"loss {first:F4} → {last:F4}");
        foreach (var (name, p) in m.named_parameters())
        {
            bool trains = Lora.IsAdapterParameter(name) || name.StartsWith("llava.mm_projector.");
            if (!before.TryGetValue(name, out var old)) { Assert.True(Lora.IsAdapterParameter(name), name); continue; }
            Assert.True(trains != Same(old, p), $"{name}: {(trains ? "did not change" : "changed")}");
        }
    }

    [Fact]
    public void Resumed_lora_finetune_reproduces_the_uninterrupted_run()
    {
        var cfg = StageConfig.QuickFinetune with { Steps = 4, BatchSize = 4, OneHopSteps = 0, WarmupRatio = 0, Lora = Tiny };
        var full = Stage.Run(NewModel(heads: false, seed: 3), cfg, NewData(), null, RunDir("lora-resume-a"), progress: Quiet);
        var dir = RunDir("lora-resume-b");
        Stage.Run(NewModel(heads: false, seed: 3), cfg, NewData(), null, dir, stopAfter: 2, progress: Quiet);
        // A fresh process: new model, new adapters; the run checkpoint restores both and the optimizer.
        var m = NewModel(heads: false, seed: 3);
        var resumed = Stage.Run(m, cfg, NewData(), null, dir, progress: Quiet);
        Assert.Equal(MetricsLog.Column(full.Metrics, "loss"), MetricsLog.Column(resumed.Metrics, "loss"));
        Assert.Equal(14 * 2, Lora.AdapterParameters(m).Count());
    }

    [Fact]
    public void Save_then_load_gives_identical_merged_weights()
    {
        var m = NewModel(heads: false, seed: 5);
        Lora.Apply(m.Llava, Tiny);
        Randomize(m.Llava, 6);
        var dir = RunDir("lora-save");
        LoraCheckpoint.Save(m.Llava, Tiny with { BaseModelNameOrPath = "tiny-llava" }, dir);
        var shapes = SafetensorsHeader.ReadShapes(Path.Combine(dir, LoraCheckpoint.AdapterFile));
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", shapes.Keys);
        Assert.Equal([4L, 32L], shapes["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"]);
        Assert.Equal([64L, 4L], shapes["base_model.model.model.layers.1.mlp.up_proj.lora_B.weight"]);
        Assert.Equal(28, shapes.Count);
        var config = LoraCheckpoint.ReadConfig(dir);
        Assert.Equal((4, 8.0, "tiny-llava"), (config.R, config.Alpha, config.BaseModelNameOrPath));
        Assert.Equal(LlamaLinears, config.TargetModules);

        // Same base weights (seed 5), other adapters and projector until loaded.
        var m2 = NewModel(heads: false, seed: 5);
        using (no_grad()) foreach (var p in m2.Llava.MmProjector.parameters()) p.normal_();
        LoraCheckpoint.Load(m2.Llava, dir);
        var a = m.Llava.state_dict();
        foreach (var (name, t) in m2.Llava.state_dict()) Assert.True(Same(t, a[name]), name);
        Lora.Merge(m.Llava); Lora.Merge(m2.Llava);
        foreach (var (name, t) in m2.Llava.state_dict()) Assert.True(Same(t, a[name]), $"merged {name}");
    }

    [Fact]
    public void Loading_a_mismatched_adapter_names_the_problem()
    {
        var m = NewModel(heads: false);
        Lora.Apply(m.Llava, Tiny);
        var dir = RunDir("lora-bad");
        LoraCheckpoint.Save(m.Llava, Tiny, dir);
        var other = NewModel(heads: false);
        Lora.Apply(other.Llava, Tiny with { R = 2 });
        var e = Assert.Throws<InvalidOperationException>(() => LoraCheckpoint.Load(other.Llava, dir));
        Assert.Contains("rank 2", e.Message);
        // A file missing one adapter: strict loading lists it.
        var sd = OlaVlm.Model.Checkpoint.Read(Path.Combine(dir, LoraCheckpoint.AdapterFile));
        sd.Remove("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight");
        using (var s = File.Create(Path.Combine(dir, LoraCheckpoint.AdapterFile))) TorchSharp.PyBridge.Safetensors.SaveStateDict(s, sd);
        var miss = Assert.Throws<OlaVlm.Core.CheckpointMismatchException>(() => LoraCheckpoint.Load(NewModel(heads: false).Llava, dir));
        Assert.Contains("language_model.model.layers.1.mlp.down_proj.lora_B.weight", miss.Message);
    }

    /// Python reads the adapter as PEFT / LLaVA would (environment/lora/check_peft_adapter.py: its own safetensors
    /// parser, torch.load for non_lora_trainables.bin) and checks W + (α/r)·B·A against the weights merged here.
    [SkippableFact]
    public void Python_reads_the_adapter_and_agrees_with_the_merged_weights()
    {
        const string python = "/usr/bin/python3";
        var script = Path.Combine(OlaVlm.Core.Paths.RepoRoot, "environment", "lora", "check_peft_adapter.py");
        Skip.IfNot(File.Exists(python), $"{python} is missing (Debian: apt-get install python3-torch)");
        Skip.IfNot(Run(python, "-c \"import torch, numpy\"").Code == 0, $"{python} cannot import torch and numpy (Debian: apt-get install python3-torch)");
        var m = NewModel(heads: false, seed: 8);
        Lora.Apply(m.Llava, Tiny);
        Randomize(m.Llava, 9);
        var dir = RunDir("lora-py");
        LoraCheckpoint.Save(m.Llava, Tiny, dir);
        ExportLlavaNames(m.Llava, Path.Combine(dir, "base.safetensors"));
        Lora.Merge(m.Llava);
        ExportLlavaNames(m.Llava, Path.Combine(dir, "merged.safetensors"));
        var (code, stdout, stderr) = Run(python, $"\"{script}\" \"{dir}\" \"{dir}/base.safetensors\" \"{dir}/merged.safetensors\"");
        output.WriteLine(stdout + stderr);
        Assert.True(code == 0, $"check_peft_adapter.py failed: {stderr}");
        Assert.Contains("\"adapted_modules\": 14", stdout);
    }

    /// The LLM and projector weights under LLaVA's names (what the Python check compares against).
    static void ExportLlavaNames(LlavaModel llava, string file)
    {
        using var scope = NewDisposeScope();
        var sd = llava.named_parameters().Where(p => !Lora.IsAdapterParameter(p.name) && !p.name.StartsWith("vision_tower."))
            .ToDictionary(p => HfNames.ToLlava(p.name), p => (Tensor)p.parameter.detach().contiguous());
        using var s = File.Create(file);
        TorchSharp.PyBridge.Safetensors.SaveStateDict(s, sd);
    }

    static (int Code, string Out, string Err) Run(string exe, string args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(exe, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var o = p.StandardOutput.ReadToEnd();
        p.WaitForExit(120_000);
        return (p.HasExited ? p.ExitCode : -1, o, err.Result);
    }
}

/// The full-scale LoRA recipe is LLaVA-1.5's finetune_lora: rank 128, α 256 (scaling 2), dropout 0.05, adapters at
/// 2e-4, the projector at 2e-5 (scripts/v1_5/finetune_lora.sh: lora_r 128, lora_alpha 256, learning_rate 2e-4,
/// mm_projector_lr 2e-5).
public class LoraRecipeTests
{
    [Fact]
    public void The_full_scale_lora_recipe_is_llava_15s_finetune_lora()
    {
        var c = new OlaVlm.Experiments.FullScaleConfig { Paths = new("llm", "vision", "pt", "ift", "bench", "out") };
        Assert.Equal((128, 256.0, 0.05, 2e-4, 2.0), (c.LoraConfig.R, c.LoraConfig.Alpha, c.LoraConfig.Dropout, c.LoraConfig.LearningRate, c.LoraConfig.Scaling));
        Assert.Equal(2e-5, c.Finetune.ProjectorLr);
        Assert.Equal(LoraConfig.Llava15, new LoraConfig());
    }
}
