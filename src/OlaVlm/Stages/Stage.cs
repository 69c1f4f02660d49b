using TorchSharp;
using OlaVlm.Ola;
using OlaVlm.Teachers;
using OlaVlm.Training;
using static TorchSharp.torch;

namespace OlaVlm.Stages;

/// What a stage run leaves: the steps run now (empty when it was already complete), the metrics rows of the
/// whole run (read back from the run folder, so resumed and reused runs are complete) and whether the
/// embedding loss was on.
public sealed record StageResult(StageKind Kind, string RunDir, bool EmbeddingLoss, IReadOnlyList<StepRecord> History,
                                 IReadOnlyList<IReadOnlyDictionary<string, double>> Metrics, string FreezingSummary);

/// The machinery every stage shares: freeze all but the stage's trainable weights, one optimizer group per part
/// (projector / llm / vision / ola), the loss of one micro-batch, and the training loop. What differs between the
/// stages — data, what trains, whether the embedding loss is on — is in Pretraining, InstructionTuning and
/// VisualPretraining.
public static class Stage
{
    /// Module prefixes (OlaVlmModel parameter names) a stage trains; everything else is frozen.
    public static IReadOnlyList<string> TrainablePrefixes(OlaVlmModel model, StageKind kind, bool embeddingLoss) => kind switch
    {
        StageKind.Pretrain => Pretraining.Trainable(model),
        StageKind.Finetune => InstructionTuning.Trainable(model, embeddingLoss),
        StageKind.VisualPretrain => VisualPretraining.Trainable(model, embeddingLoss),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown stage"),
    };

    /// Whether the embedding loss applies in this stage for this model (never for the baseline).
    public static bool EmbeddingLossOn(OlaVlmModel model, StageConfig cfg) => cfg.Kind switch
    {
        StageKind.Pretrain => Pretraining.EmbeddingLoss(model, cfg),
        StageKind.Finetune => InstructionTuning.EmbeddingLoss(model, cfg),
        StageKind.VisualPretrain => VisualPretraining.EmbeddingLoss(model, cfg),
        _ => throw new ArgumentOutOfRangeException(nameof(cfg), cfg.Kind, "unknown stage"),
    };

    /// OLA-VLM's predictors and logit scales (not the task tokens), only those that exist (no scales without
    /// InfoNCE); none for the baseline.
    public static IEnumerable<string> HeadPrefixes(OlaVlmModel model) => !model.OlaActive ? [] : model.Heads!.Config.Tasks
        .SelectMany(t => new[] { $"ola.image_{t.Name()}_heads", $"ola.{t.Name()}_logit_scale" })
        .Where(prefix => model.named_parameters().Any(p => Freezing.HasPrefix(p.name, prefix)));

    /// Freezes the model for the stage and builds its optimizer groups (projector / llm / vision / ola).
    public static ParamGroups Prepare(OlaVlmModel model, StageConfig cfg)
    {
        bool emb = EmbeddingLossOn(model, cfg);
        Freezing.Freeze(model);
        foreach (var prefix in TrainablePrefixes(model, cfg.Kind, emb)) Freezing.SetRequiresGrad(model, prefix, true);
        if (cfg.Lora is not null) Lora.PrepareStage(model.Llava, cfg.Lora);
        // CLIP runs under no_grad unless it trains (LLaVA never back-propagates into a frozen tower).
        model.Llava.TrainVisionTower = cfg.Kind == StageKind.VisualPretrain;
        if (cfg.Bf16Weights && model.parameters().First().dtype != ScalarType.BFloat16) model.to(ScalarType.BFloat16);
        return ParamGroups.Build(model, cfg.ToTrainConfig(outputDir: ""),
        [
            GroupRule.Prefix("projector", cfg.ProjectorLr, "llava.mm_projector"),
            GroupRule.Prefix("llm", cfg.Lora?.LearningRate ?? cfg.LlmLr, "llava.language_model"),
            GroupRule.Prefix("vision", cfg.VisionLr, "llava.vision_tower"),
            GroupRule.Prefix("ola", cfg.OlaLr, "ola"),
        ]);
    }

    /// One micro-batch: forward, and the loss parts the Trainer logs ("ntp", "emb", "emb/<task>",
    /// "emb/<task>/L<layer>"; the baseline logs "ntp" only).
    public static LossParts Loss(OlaVlmModel model, StageBatch batch, IReadOnlyDictionary<OlaTask, ITargetSource>? targets, bool embeddingLoss)
    {
        var device = model.Llava.LanguageModel.Model.EmbedTokens.weight!.device;
        var tg = embeddingLoss ? Targets(model, batch, targets, device) : null;
        var fw = model.forward(batch.Pixels, batch.Samples, tg);
        var parts = new List<(string, Tensor)> { ("ntp", fw.Ntp.detach()) };
        if (fw.Heads is not null && tg is not null)
        {
            parts.Add(("emb", fw.Emb.detach()));
            foreach (var g in fw.Heads.Parts.GroupBy(p => p.Task))
            {
                parts.Add(($"emb/{g.Key.Name()}", g.Select(p => p.Weighted).Aggregate((a, b) => a + b)));
                foreach (var p in g) parts.Add(($"emb/{g.Key.Name()}/L{p.Layer}", p.Weighted));
            }
        }
        return new LossParts(fw.Total, parts.ToArray()) { Samples = batch.Samples.Count };
    }

    /// The teachers' targets for the batch's images, for the tasks the model's heads predict.
    static Dictionary<OlaTask, Tensor> Targets(OlaVlmModel model, StageBatch batch, IReadOnlyDictionary<OlaTask, ITargetSource>? targets, Device device)
    {
        if (targets is null) throw new ArgumentException("Stage: the embedding loss is on but no teacher target sources were given");
        var missing = model.Heads!.Config.Tasks.Where(t => !targets.ContainsKey(t)).ToList();
        if (missing.Count > 0) throw new ArgumentException($"Stage: no teacher targets for task(s) {string.Join(", ", missing.Select(t => t.Name()))}");
        return TeacherTargets.ForBatch(targets.Where(kv => model.Heads.Config.Tasks.Contains(kv.Key)).ToDictionary(), batch.HasImage, batch.ImageKeys, device);
    }

    /// Trains `model` for the stage in `runDir`, resuming from the run's latest checkpoint if there is one
    /// (a complete run does nothing). stopAfter: stop (and checkpoint) after that many steps in total. log: where resume
    /// decisions are reported (null: the console).
    public static StageResult Run(OlaVlmModel model, StageConfig cfg, IStageData data, IReadOnlyDictionary<OlaTask, ITargetSource>? targets,
                                  string runDir, int? stopAfter = null, IProgressReporter? progress = null, string? title = null,
                                  Action<string>? log = null)
    {
        var device = model.Llava.LanguageModel.Model.EmbedTokens.weight!.device;
        bool emb = EmbeddingLossOn(model, cfg);
        var groups = Prepare(model, cfg);
        var summary = groups.Summary();
        using var trainer = new Trainer(model, groups, cfg.ToTrainConfig(runDir), (step, micro) =>
        {
            var batch = data.Batch(cfg.Seed, step * cfg.GradAccum + micro, cfg.BatchSize, device);
            return Loss(model, batch, targets, emb);
        }) { Progress = progress, Title = title ?? cfg.Kind.ToString(), Log = log };
        trainer.Resume();
        var history = trainer.Step >= cfg.Steps ? [] : trainer.Run(stopAfter);
        model.Llava.TrainVisionTower = false;
        model.eval();
        return new StageResult(cfg.Kind, runDir, emb, history.ToList(), MetricsLog.Read(runDir), summary);
    }
}
