using OlaVlm.Tests.Stages;
using static TorchSharp.torch;

namespace OlaVlm.Tests.FaultInjection;

/// The stage caches under out/experiments: a folder a killed run left (no complete.json) is resumed; one whose files
/// differ from complete.json (answers.json, a model, metrics.jsonl, complete.json itself: truncated or a byte flipped)
/// is reported by name and trained again — and every repaired run ends with the same answers and bit-identical weights.
[Collection(SerialTorchCollection.Name)]
public class StageCacheDamageTests
{
    static readonly WorldConfig Cfg = new() { Seed = 7, ImageSize = 32, PtScenes = 24, IftScenes = 24, ValScenes = 4, BenchItems = 10 };

    [Fact]
    public void Damaged_or_unfinished_stage_folders_are_reported_and_redone_to_identical_results()
    {
        var world = OlaVlm.World.MiniWorld.Build(Cfg, Paths.OutDir("test-stages", "world"));
        var template = ChatTemplate.Miniature();
        var tok = WorldTokenizer.Build(template);
        manual_seed(0);
        var f = new FoundationParts(new ClipVisionModel(new ClipVisionConfig(32, 64, 2, 4, ImageSize: 32, PatchSize: 8), CPU),
            new LlamaForCausalLM(new LlamaConfig(tok.VocabSize, 32, 64, 2, 4, 2, 1e-5, TieWordEmbeddings: true), CPU), tok, template);
        var teachers = new ITeacher[] { MiniTeacher.Create(DepthTeacherConfig.Tiny), MiniTeacher.Create(SegTeacherConfig.Tiny), MiniTeacher.Create(GenTeacherConfig.Tiny) };
        var ds = LlavaDataset.Load(world.PtJson);
        using var bank = ImageBank.Load(ds);
        var targets = WorldTeachers.Cached(teachers, ds, bank, "pt", Paths.OutDir("test-stages", "targets", Guid.NewGuid().ToString("N")));
        var cfg = new ExperimentConfig
        {
            Ola = OlaConfig.Miniature with { NumTaskTokens = 4, PredictorHeads = 2, PredictorDimHead = 8 },
            Pretrain = StageConfig.QuickPretrain with { Steps = 3, BatchSize = 4 },
            Finetune = StageConfig.QuickFinetune with { Steps = 3, BatchSize = 4 },
            MaxNewTokens = 3,
        };
        long seed = Random.Shared.NextInt64(1, 1 << 40);
        var quiet = new ConsoleProgress(TextWriter.Null);
        var first = Experiment.RunBaselineAndOla(world, f, targets, cfg, seed, quiet);
        var ola = first.Ola;
        string arm = Path.GetDirectoryName(ola.Stage(StageKind.Finetune).RunDir)!, pt = Path.GetDirectoryName(ola.Stage(StageKind.Pretrain).RunDir)!;
        var weights = Weights(ola.Model);

        // (what to damage, how, what the log must say)
        var cases = new (string File, Action<string> Hurt, string Says)[]
        {
            (Path.Combine(arm, "answers.json"), p => Damage.Flip(p, 3), "damaged"),
            (Path.Combine(arm, "answers.json"), p => Damage.Truncate(p), "damaged"),
            (Path.Combine(arm, "model.safetensors"), p => Damage.FlipRandom(p, 1), "damaged"),
            (Path.Combine(pt, "model.safetensors"), p => Damage.Truncate(p, 0.3), "damaged"),
            (Path.Combine(pt, "pt", "metrics.jsonl"), p => Damage.FlipRandom(p, 2), "damaged"),
            (Path.Combine(arm, "ift", "metrics.jsonl"), p => Damage.Truncate(p, 0.8), "damaged"),
            (Path.Combine(arm, ArmFolders.Seal), p => Damage.FlipRandom(p, 3), "damaged"),
            (Path.Combine(arm, ArmFolders.Seal), File.Delete, "not marked complete"),   // killed after its results, before its seal
            // killed while writing the answers: the half-written file beside them (its writer's pid long gone) is swept
            (Path.Combine(arm, "answers.json"), p => File.WriteAllText(Path.Combine(arm, $".answers.json.tmp-{DeadPid}-{Guid.NewGuid():N}"), "[\"(A"),
             "unfinished temporary"),
            // a folder an older version left: no seal, and a restarted stage's rows appended to the first attempt's
            (Path.Combine(pt, "pt", "metrics.jsonl"), p => { File.Delete(Path.Combine(pt, ArmFolders.Seal)); File.AppendAllLines(p, File.ReadLines(p).Take(2).ToList()); },
             "mix two attempts"),
        };
        foreach (var (file, hurt, says) in cases)
        {
            hurt(file);
            var log = new List<string>();
            var again = Experiment.RunBaselineAndOla(world, f, targets, cfg, seed, quiet, log.Add);
            Assert.True(log.Any(l => l.Contains(says) && (says != "damaged" || l.Contains(Path.GetFileName(file)))),
                        $"{file}: no '{says}' line naming it in:\n{string.Join("\n", log)}");
            Assert.Equal(ola.Answers, again.Ola.Answers);
            Assert.Equal(first.Baseline.Answers, again.Baseline.Answers);
            var now = Weights(again.Ola.Model);
            foreach (var (name, t) in weights) Assert.True(StageFixture.Same(t, now[name]), $"after {file}: {name} differs");
            Assert.Empty(Damage.Stray(arm));
            // And the repaired folders are whole again: the next run reuses both arms.
            Assert.True(Experiment.RunBaselineAndOla(world, f, targets, cfg, seed, quiet).Ola.Reused, $"after {file}");
        }
        foreach (var t in targets.Values) t.Dispose();
    }

    [Fact]
    public void An_arm_trained_with_lora_is_reused_with_its_adapters()
    {
        var world = OlaVlm.World.MiniWorld.Build(Cfg, Paths.OutDir("test-stages", "world"));
        var template = ChatTemplate.Miniature();
        var tok = WorldTokenizer.Build(template);
        manual_seed(0);
        var f = new FoundationParts(new ClipVisionModel(new ClipVisionConfig(32, 64, 2, 4, ImageSize: 32, PatchSize: 8), CPU),
            new LlamaForCausalLM(new LlamaConfig(tok.VocabSize, 32, 64, 2, 4, 2, 1e-5, TieWordEmbeddings: true), CPU), tok, template);
        var teachers = new ITeacher[] { MiniTeacher.Create(DepthTeacherConfig.Tiny), MiniTeacher.Create(SegTeacherConfig.Tiny), MiniTeacher.Create(GenTeacherConfig.Tiny) };
        var ds = LlavaDataset.Load(world.PtJson);
        using var bank = ImageBank.Load(ds);
        var targets = WorldTeachers.Cached(teachers, ds, bank, "pt", Paths.OutDir("test-stages", "targets", Guid.NewGuid().ToString("N")));
        var cfg = new ExperimentConfig
        {
            Ola = OlaConfig.Miniature with { NumTaskTokens = 1, PredictorHeads = 2, PredictorDimHead = 8 },
            Pretrain = StageConfig.QuickPretrain with { Steps = 2, BatchSize = 4 },
            Finetune = StageConfig.QuickFinetune with { Steps = 2, BatchSize = 4, Lora = LoraConfig.Miniature with { R = 2, Alpha = 4 } },
            MaxNewTokens = 3,
        };
        long seed = Random.Shared.NextInt64(1, 1 << 40);
        var quiet = new ConsoleProgress(TextWriter.Null);
        var first = Experiment.RunBaselineAndOla(world, f, targets, cfg, seed, quiet);
        var again = Experiment.RunBaselineAndOla(world, f, targets, cfg, seed, quiet);
        Assert.True(again.Ola.Reused && again.Baseline.Reused);
        Assert.NotEmpty(Lora.Adapters(again.Ola.Model));
        var before = Weights(first.Ola.Model);
        foreach (var (name, t) in Weights(again.Ola.Model)) Assert.True(StageFixture.Same(before[name], t), name);
        foreach (var t in targets.Values) t.Dispose();
    }

    [Fact]
    public void Metrics_of_two_attempts_mixed_in_one_file_are_an_error_naming_file_and_line()
    {
        var dir = Paths.OutDir("test-fault", "mixed-" + Guid.NewGuid().ToString("N"));
        var log = new MetricsLog(dir);
        foreach (var s in new[] { 1, 2, 3, 1, 2 }) log.Append([new("step", s), new("loss", 1.0)]);
        var e = Assert.Throws<InvalidDataException>(() => MetricsLog.Read(dir));
        Assert.Contains("metrics.jsonl line 4", e.Message);
        Assert.Contains("mixed", e.Message);
    }

    /// A process id no process has: pid_max on Linux is at most 2^22.
    const int DeadPid = 99_999_999;

    static Dictionary<string, Tensor> Weights(nn.Module m) => m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
}
