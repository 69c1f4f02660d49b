using OlaVlm.Data;
using OlaVlm.Model;
using OlaVlm.Ola;
using OlaVlm.Stages;
using OlaVlm.Teachers;
using OlaVlm.Text;
using OlaVlm.Training;
using OlaVlm.World;
using Xunit;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Stages;

/// The whole pipeline on a world of a few dozen 32×32 scenes with tiny random foundation models and
/// untrained tiny teachers: both arms train, answer the benchmark, are cached and reused.
[Collection(SerialTorchCollection.Name)]
public class ExperimentTests
{
    static readonly WorldConfig Cfg = new() { Seed = 7, ImageSize = 32, PtScenes = 24, IftScenes = 24, ValScenes = 4, BenchItems = 10 };

    [Fact]
    public void The_pt_curriculum_starts_from_every_caption_of_a_scene_with_few_objects()
    {
        var world = OlaVlm.World.MiniWorld.Build(Cfg, Core.Paths.OutDir("test-stages", "world"));
        var scenes = world.Scenes("pt");
        var few = Pretraining.FewObjectCaptions(world, 2);
        var want = scenes.Where(s => s.Objects.Count <= 2).Select(s => s.Image).ToHashSet();
        Assert.NotEmpty(want);
        Assert.Equal(want, few.Records.Select(r => r.Image!).ToHashSet());
        Assert.Equal(want.Count, few.Records.Count);
        // Every caption of the pool names at most two objects.
        Assert.All(few.Records, r => Assert.True(r.Conversations[1].Value.Split("; ").Length <= 2, r.Conversations[1].Value));
        Assert.Throws<InvalidDataException>(() => Pretraining.FewObjectCaptions(world, 0));
    }

    [Fact]
    public void Baseline_and_ola_train_on_the_same_data_are_scored_and_reused()
    {
        var world = OlaVlm.World.MiniWorld.Build(Cfg, Core.Paths.OutDir("test-stages", "world"));
        var template = ChatTemplate.Miniature();
        var tok = WorldTokenizer.Build(template);
        manual_seed(0);
        var f = new FoundationParts(
            new ClipVisionModel(new ClipVisionConfig(32, 64, 2, 4, ImageSize: 32, PatchSize: 8), CPU),
            new LlamaForCausalLM(new LlamaConfig(tok.VocabSize, 32, 64, 2, 4, 2, 1e-5, TieWordEmbeddings: true), CPU),
            tok, template);
        var teachers = new ITeacher[] { MiniTeacher.Create(DepthTeacherConfig.Tiny), MiniTeacher.Create(SegTeacherConfig.Tiny), MiniTeacher.Create(GenTeacherConfig.Tiny) };
        var ds = LlavaDataset.Load(world.PtJson);
        using var bank = ImageBank.Load(ds);
        var targets = WorldTeachers.Cached(teachers, ds, bank, "pt", Core.Paths.OutDir("test-stages", "targets", Guid.NewGuid().ToString("N")));
        var cfg = new ExperimentConfig
        {
            Ola = OlaConfig.Miniature with { NumTaskTokens = 4, PredictorHeads = 2, PredictorDimHead = 8 },
            Pretrain = StageConfig.QuickPretrain with { Steps = 3, BatchSize = 4, FewObjectsSteps = 2, FewObjectsMax = 2 },
            Finetune = StageConfig.QuickFinetune with { Steps = 3, BatchSize = 4 },
            MaxNewTokens = 3,
        };
        long seed = Random.Shared.NextInt64(1, 1 << 40); // a fresh cache entry per test run
        var quiet = new ConsoleProgress(TextWriter.Null);
        var r = Experiment.RunBaselineAndOla(world, f, targets, cfg, seed, quiet);

        Assert.False(r.Baseline.Reused);
        Assert.Null(r.Baseline.Model.Heads);
        Assert.NotNull(r.Ola.Model.Heads);
        Assert.Equal(16, r.Ola.Model.OlaConfig!.Spec(OlaTask.Depth).NumTargetTokens); // from the teacher
        Assert.Equal(10, r.Baseline.Answers.Count);
        Assert.Equal(10, r.Ola.Answers.Count);
        var basePt = r.Baseline.Stage(StageKind.Pretrain).Metrics;
        var olaPt = r.Ola.Stage(StageKind.Pretrain).Metrics;
        Assert.Equal(3, basePt.Count);
        Assert.Contains("emb", olaPt[0].Keys);
        Assert.DoesNotContain("emb", basePt[0].Keys);
        Assert.Equal(3, r.Ola.Stage(StageKind.Finetune).Metrics.Count);
        Assert.Contains(r.ScoreTable(), row => row.Metric == "Overall");

        var again = Experiment.RunBaselineAndOla(world, f, targets, cfg, seed, quiet);
        Assert.True(again.Baseline.Reused && again.Ola.Reused);
        Assert.Equal(r.Hash, again.Hash);
        Assert.Equal(r.Ola.Answers, again.Ola.Answers);
        Assert.Equal(MetricsLog.Column(olaPt, "loss"), MetricsLog.Column(again.Ola.Stage(StageKind.Pretrain).Metrics, "loss"));
        foreach (var (name, p) in r.Ola.Model.named_parameters().Select(x => (x.name, x.parameter)))
            Assert.True(StageFixture.Same(p, again.Ola.Model.get_parameter(name) ?? throw new Xunit.Sdk.XunitException($"{name} missing after reload")), name);

        // A variant that differs only after PT (more IFT steps) starts from the same pre-trained arms, and what it
        // trains from them is what it would have trained after its own PT.
        var log = new List<string>();
        var variant = cfg with { Finetune = cfg.Finetune with { Steps = 4 } };
        var v = Experiment.RunBaselineAndOla(world, f, targets, variant, seed, quiet, log.Add);
        Assert.NotEqual(r.Hash, v.Hash);
        Assert.Contains(log, l => l.StartsWith("baseline: Pretrain reused"));
        Assert.Contains(log, l => l.StartsWith("ola: Pretrain reused"));
        Assert.Equal(MetricsLog.Column(olaPt, "loss"), MetricsLog.Column(v.Ola.Stage(StageKind.Pretrain).Metrics, "loss"));
        Assert.Equal(4, v.Ola.Stage(StageKind.Finetune).Metrics.Count);
        // Each arm's folder (the baseline's is keyed without the OLA config) and its PT folder, experiments/pt-<hash>/<arm>/pt.
        foreach (var arm in new[] { v.Baseline, v.Ola })
        {
            Directory.Delete(Path.GetDirectoryName(arm.Stage(StageKind.Finetune).RunDir)!, recursive: true);
            Directory.Delete(Path.GetDirectoryName(Path.GetDirectoryName(arm.Stage(StageKind.Pretrain).RunDir))!, recursive: true);
        }
        log.Clear();
        var fresh = Experiment.RunBaselineAndOla(world, f, targets, variant, seed, quiet, log.Add);
        Assert.DoesNotContain(log, l => l.Contains("reused"));
        foreach (var (name, p) in v.Ola.Model.named_parameters().Select(x => (x.name, x.parameter)))
            Assert.True(StageFixture.Same(p, fresh.Ola.Model.get_parameter(name)!), $"ola {name}: PT reused vs trained again");
        foreach (var (name, p) in v.Baseline.Model.named_parameters().Select(x => (x.name, x.parameter)))
            Assert.True(StageFixture.Same(p, fresh.Baseline.Model.get_parameter(name)!), $"baseline {name}: PT reused vs trained again");

        // Another initialisation before PT (same seed, so the same data order) is its own experiment and PT.
        log.Clear();
        var other = cfg with { Pretrain = cfg.Pretrain with { InitSeedOffset = 1000 } };
        var o = Experiment.RunBaselineAndOla(world, f, targets, other, seed, quiet, log.Add);
        Assert.NotEqual(r.Hash, o.Hash);
        Assert.DoesNotContain(log, l => l.Contains("reused"));
        Assert.NotEqual(MetricsLog.Column(basePt, "loss")[0], MetricsLog.Column(o.Baseline.Stage(StageKind.Pretrain).Metrics, "loss")[0]);
        // Best of two initialisations: each trains PT's first 2 steps, the lower next-token loss goes on to step 3
        // from where it stopped; the choice and both scores are kept beside the PT run.
        log.Clear();
        var pick = cfg with { Pretrain = cfg.Pretrain with { InitCandidates = 2, InitProbeSteps = 2 } };
        var p2 = Experiment.RunBaselineAndOla(world, f, targets, pick, seed, quiet, log.Add);
        foreach (var arm in new[] { p2.Baseline, p2.Ola })
        {
            var ptRun = arm.Stage(StageKind.Pretrain);
            var cands = InitSelection.Read(ptRun.RunDir) ?? throw new Xunit.Sdk.XunitException($"{ptRun.RunDir}: no init-selection.json");
            Assert.Equal(2, cands.Count);
            Assert.Equal(new long[] { seed, seed + 1000 }, cands.Select(c => c.InitSeed).ToArray());
            var steps = MetricsLog.Column(ptRun.Metrics, "step");
            Assert.Equal(new double[] { 1, 2, 3 }, steps);
            // The winner's first two steps are the ones kept, and they score what the selection recorded.
            Assert.Equal(cands.Min(c => c.Loss), InitSelection.Score(ptRun.Metrics, 2, ptRun.RunDir), 1e-6);
            Assert.False(Directory.Exists(ptRun.RunDir + "-init0") || Directory.Exists(ptRun.RunDir + "-init1"));
        }
        Assert.Equal(4, log.Count(l => l.Contains(": initialisation ") && l.Contains("next-token loss")));
        // Candidate 0 is the seed's own initialisation: its first two steps are the plain run's.
        var c0 = InitSelection.Read(p2.Baseline.Stage(StageKind.Pretrain).RunDir)![0];
        Assert.Equal(InitSelection.Score(basePt, 2, "plain"), c0.Loss, 1e-6);
        Assert.Throws<ArgumentException>(() => Experiment.RunBaselineAndOla(world, f, targets,
            cfg with { Pretrain = cfg.Pretrain with { InitCandidates = 2, InitProbeSteps = 3 } }, seed, quiet));

        // The restart rule (InitAcceptBelow): a start at or below the bar goes on at once — the later candidates are
        // never trained and PT is the plain run's, number for number; a start above it is replaced by the next one.
        var keep = Experiment.RunBaselineAndOla(world, f, targets,
            cfg with { Pretrain = cfg.Pretrain with { InitCandidates = 3, InitProbeSteps = 2, InitAcceptBelow = 100 } }, seed, quiet);
        foreach (var (arm, plain) in new[] { (keep.Baseline, basePt), (keep.Ola, olaPt) })
        {
            var ptRun = arm.Stage(StageKind.Pretrain);
            Assert.Equal(new long[] { seed }, InitSelection.Read(ptRun.RunDir)!.Select(c => c.InitSeed).ToArray());
            Assert.Equal(MetricsLog.Column(plain, "loss"), MetricsLog.Column(ptRun.Metrics, "loss"));
            Assert.False(Directory.Exists(ptRun.RunDir + "-init1"));
        }
        Assert.Equal(r.Baseline.Answers, keep.Baseline.Answers);
        Assert.Equal(r.Ola.Answers, keep.Ola.Answers);
        // No start reaches a bar below every loss: all three are tried and the lowest goes on, as best of three.
        var none = Experiment.RunBaselineAndOla(world, f, targets,
            cfg with { Pretrain = cfg.Pretrain with { InitCandidates = 3, InitProbeSteps = 2, InitAcceptBelow = 1e-9 } }, seed, quiet);
        foreach (var arm in new[] { none.Baseline, none.Ola })
        {
            var ptRun = arm.Stage(StageKind.Pretrain);
            var cands = InitSelection.Read(ptRun.RunDir)!;
            Assert.Equal(new long[] { seed, seed + 1000, seed + 2000 }, cands.Select(c => c.InitSeed).ToArray());
            Assert.Equal(cands.Min(c => c.Loss), InitSelection.Score(ptRun.Metrics, 2, ptRun.RunDir), 1e-6);
        }
        // A bar just below the first start's loss: it is restarted, and the next start at or below the bar goes on
        // (or, when neither later start reaches it, the lowest of the three), as the best-of-three scores predict.
        var all = InitSelection.Read(none.Baseline.Stage(StageKind.Pretrain).RunDir)!.Select(c => c.Loss).ToArray();
        double bar = all[0] * 0.999;
        int reached = Array.FindIndex(all, 1, l => l <= bar);
        int winner = reached > 0 ? reached : Array.IndexOf(all, all.Min());
        var restart = Experiment.RunBaselineAndOla(world, f, targets,
            cfg with { Pretrain = cfg.Pretrain with { InitCandidates = 3, InitProbeSteps = 2, InitAcceptBelow = bar } }, seed, quiet);
        var restartPt = restart.Baseline.Stage(StageKind.Pretrain);
        var tried = InitSelection.Read(restartPt.RunDir)!;
        Assert.Equal(reached > 0 ? reached + 1 : 3, tried.Count);
        Assert.Equal(all.Take(tried.Count).ToArray(), tried.Select(c => c.Loss).ToArray());
        Assert.Equal(all[winner], InitSelection.Score(restartPt.Metrics, 2, restartPt.RunDir), 1e-6);
        Assert.Throws<ArgumentException>(() => Experiment.RunBaselineAndOla(world, f, targets,
            cfg with { Pretrain = cfg.Pretrain with { InitCandidates = 2, InitProbeSteps = 2, InitAcceptBelow = -1 } }, seed, quiet));

        // At 0 the knob is left out of the JSON, so cache keys made before it stay.
        Assert.DoesNotContain("InitSeedOffset", System.Text.Json.JsonSerializer.Serialize(cfg.Pretrain));
        Assert.Contains("InitSeedOffset", System.Text.Json.JsonSerializer.Serialize(other.Pretrain));

        // A wider projector (ExperimentConfig.ProjectorHidden) is its own experiment; both arms get it, and a rerun
        // reloads it (the saved weights fit only a model built with the same width).
        var wide = cfg with { ProjectorHidden = 48 };
        var w = Experiment.RunBaselineAndOla(world, f, targets, wide, seed, quiet);
        Assert.NotEqual(r.Hash, w.Hash);
        foreach (var arm in new[] { w.Baseline, w.Ola })
        {
            var sd = arm.Model.Llava.MmProjector.state_dict();
            Assert.Equal(new long[] { 48, 32 }, sd["0.weight"].shape);
            Assert.Equal(new long[] { 32, 48 }, sd["2.weight"].shape);
        }
        Assert.Equal(new long[] { 32, 32 }, r.Baseline.Model.Llava.MmProjector.state_dict()["0.weight"].shape);
        var wAgain = Experiment.RunBaselineAndOla(world, f, targets, wide, seed, quiet);
        Assert.True(wAgain.Baseline.Reused && wAgain.Ola.Reused);
        Assert.Equal(w.Ola.Answers, wAgain.Ola.Answers);
        Assert.DoesNotContain("ProjectorHidden", System.Text.Json.JsonSerializer.Serialize(cfg));
        Assert.Contains("\"ProjectorHidden\":48", System.Text.Json.JsonSerializer.Serialize(wide));

        using var val = new ConversationData(LlavaDataset.Load(world.ValJson), tok, template);
        var gallery = PredictionGallery.Build(r.Ola.Model, world, "val", val, teachers.ToDictionary(t => TeacherTargets.Task(t.Kind)), count: 2);
        Assert.Equal(2 * 3, gallery.Count);
        Assert.All(gallery, g => Assert.Equal(3 + r.Ola.Model.Heads!.Layers(g.Task).Count, g.Cells.Count));
        Assert.All(gallery.SelectMany(g => g.Cells), c => Assert.Equal(32, c.Picture.Width));
        foreach (var t in targets.Values) t.Dispose();
    }
}
