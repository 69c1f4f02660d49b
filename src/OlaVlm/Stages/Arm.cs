using System.Text.Json;
using OlaVlm.Eval;
using OlaVlm.Ola;
using OlaVlm.Teachers;
using OlaVlm.Training;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Stages;

/// What both arms of an experiment share: the world and its pools, the foundation, the teachers' targets, the
/// recipe, the seed and the benchmark items they answer.
public sealed record ArmInputs(WorldData World, FoundationParts Foundation, IReadOnlyDictionary<OlaTask, ITargetSource> Targets,
                               ExperimentConfig Config, long Seed, RecipeData Pools, IReadOnlyList<CvBenchItem> Bench, Device Device,
                               IProgressReporter? Progress, Action<string> Log);

/// One arm of the comparison: a fresh model from the foundation (the projector, and OLA-VLM's modules, initialised
/// from the seed), trained PT → (VPT) → IFT, then answering the benchmark greedily. `ola` null = LLaVA-1.5.
/// Finished work on disk is reused (StageCache; a folder counts only once marked complete); an interrupted stage
/// resumes from its last checkpoint, a damaged folder is trained again.
public static class Arm
{
    public static ArmResult Train(string name, OlaConfig? ola, ArmInputs a)
    {
        var cfg = a.Config;
        var folders = StageCache.Folders(name, ola, a.World, a.Foundation, a.Targets, cfg, a.Seed);
        long init = a.Seed + cfg.Pretrain.InitSeedOffset;
        var model = NewModel(a, ola, init);
        var stages = Stages(cfg, a.Seed).ToList();
        if (folders.ArmFinished(a.Log) && folders.PretrainFinished(a.Log)) return Reuse(name, model, stages, folders, a);

        var done = new List<StageResult>();
        foreach (var sc in stages)
        {
            var runDir = folders.Run(sc.Kind);
            if (sc.Kind == StageKind.Pretrain && folders.PretrainFinished(a.Log))
            {
                a.Log($"{name}: {sc.Kind} reused from {folders.Pretrain}");
                model.Load(folders.PretrainModel);
                done.Add(Reused(model, sc, runDir));
                continue;
            }
            a.Log($"{name}: {sc.Kind} for {sc.Steps} steps × {sc.EffectiveBatch}");
            if (sc.Kind == StageKind.Pretrain && sc.InitCandidates > 1) model = StartFromBestInit(model, name, ola, init, sc, runDir, a);
            done.Add(Stage.Run(model, sc, Data(sc, a.Pools), a.Targets, runDir, progress: a.Progress, title: $"{name} {sc.Kind}", log: a.Log));
            if (sc.Kind == StageKind.Pretrain)
            {
                model.Save(folders.PretrainModel);
                ArmFolders.Complete(folders.Pretrain);
            }
        }
        var answers = BenchmarkAnswers.Greedy(model, a.Foundation.Tokenizer, a.Foundation.Template, a.World.BenchJsonl, a.Bench,
                                              cfg.MaxNewTokens, cfg.EvalBatchSize, a.Device);
        model.Save(folders.Model);
        Training.AtomicFile.WriteText(folders.Answers, JsonSerializer.Serialize(answers));
        ArmFolders.Complete(folders.Arm);
        return new ArmResult(name, model, done, answers, CvBenchScorer.Score(a.Bench, answers, cfg.Parsing), false, folders.PretrainModel);
    }

    /// PT's best-of-k initialisation (InitSelection); when an interrupted run already chose (its choice and the winner's
    /// checkpoint are in runDir), the winner is rebuilt from its seed and PT resumes from the checkpoint.
    static OlaVlmModel StartFromBestInit(OlaVlmModel model, string name, OlaConfig? ola, long init, StageConfig sc, string runDir, ArmInputs a)
    {
        model.Dispose();
        if (InitSelection.ChosenSeed(runDir) is long seed)
        {
            a.Log($"{name} {sc.Kind}: initialisation already chosen (seed {seed}, {runDir}): resuming it");
            return NewModel(a, ola, seed);
        }
        return InitSelection.Pick(s => NewModel(a, ola, s), init, sc, Data(sc, a.Pools), a.Targets, runDir, a.Progress, $"{name} {sc.Kind}", a.Log).Model;
    }

    /// The recipe's stages in order, each with its kind and the experiment's seed.
    public static IEnumerable<StageConfig> Stages(ExperimentConfig cfg, long seed)
    {
        yield return cfg.Pretrain with { Kind = StageKind.Pretrain, Seed = seed };
        if (cfg.VisualPretrain is StageConfig vpt) yield return vpt with { Kind = StageKind.VisualPretrain, Seed = seed };
        yield return cfg.Finetune with { Kind = StageKind.Finetune, Seed = seed };
    }

    static IStageData Data(StageConfig sc, RecipeData pools) => sc.Kind switch
    {
        StageKind.Pretrain => Pretraining.Data(pools, sc),
        StageKind.VisualPretrain => VisualPretraining.Data(pools),
        _ => InstructionTuning.Data(pools, sc),
    };

    /// A new model: LLaVA from the foundation with its projector drawn from `initSeed`, OLA-VLM's modules from
    /// `initSeed + 1` (the baseline draws nothing more).
    static OlaVlmModel NewModel(ArmInputs a, OlaConfig? ola, long initSeed)
    {
        var llava = a.Foundation.NewLlava(initSeed, a.Device, a.Config.ProjectorHidden);
        using (manual_seed(initSeed + 1)) { }
        return OlaVlmModel.Create(llava, ola);
    }

    static ArmResult Reuse(string name, OlaVlmModel model, IReadOnlyList<StageConfig> stages, ArmFolders folders, ArmInputs a)
    {
        a.Log($"{name}: reusing {folders.Arm}");
        // A LoRA stage saved the model with its adapters: put the same adapters in place before loading.
        if (stages.LastOrDefault(sc => sc.Lora is not null)?.Lora is { } lora) Lora.Apply(model.Llava, lora);
        model.Load(folders.Model);
        model.eval();
        var results = stages.Select(sc => Reused(model, sc, folders.Run(sc.Kind))).ToList();
        // complete.json has verified the file's bytes: what it holds is what was written.
        var saved = JsonSerializer.Deserialize<List<string>>(File.ReadAllText(folders.Answers))
                    ?? throw new InvalidDataException($"{folders.Answers} holds no answers");
        if (saved.Count != a.Bench.Count) throw new InvalidDataException($"{folders.Answers} has {saved.Count} answers for {a.Bench.Count} benchmark items");
        return new ArmResult(name, model, results, saved, CvBenchScorer.Score(a.Bench, saved, a.Config.Parsing), true, folders.PretrainModel);
    }

    static StageResult Reused(OlaVlmModel model, StageConfig sc, string runDir) =>
        new(sc.Kind, runDir, Stage.EmbeddingLossOn(model, sc), [], MetricsLog.Read(runDir), "");
}
