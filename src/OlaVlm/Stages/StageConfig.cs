using OlaVlm.Training;

namespace OlaVlm.Stages;

/// The training stages of LLaVA-1.5 / OLA-VLM.
/// Pretrain (PT): projector (+ OLA predictors, task tokens, logit scales) on captions; LLM and CLIP frozen;
///   loss NTP + embedding loss (OLA) or NTP (baseline).
/// Finetune (IFT): projector + LLM on instructions; NTP only; task tokens frozen.
/// VisualPretrain (VPT, optional, between PT and IFT): everything but the teachers; NTP only.
public enum StageKind { Pretrain, Finetune, VisualPretrain }

/// Every knob of one stage, with the paper's defaults (Paper* presets) and miniature presets (Quick/Full).
/// Learning rates are per parameter group: projector, LLM, vision tower, OLA heads; a group is only
/// used when the stage trains it.
public sealed record StageConfig
{
    public StageKind Kind { get; init; } = StageKind.Pretrain;
    public int Steps { get; init; } = 100;
    public int BatchSize { get; init; } = 8;
    public int GradAccum { get; init; } = 1;
    public double ProjectorLr { get; init; } = 1e-3;
    public double LlmLr { get; init; } = 2e-5;
    public double VisionLr { get; init; } = 2e-5;
    /// Predictors, task tokens and logit scales (trained with the projector in PT: same lr in the reference).
    public double OlaLr { get; init; } = 1e-3;
    public double WeightDecay { get; init; } = 0.0;
    public double WarmupRatio { get; init; } = 0.03;
    public double MinLrRatio { get; init; } = 0.0;
    public double MaxGradNorm { get; init; } = 1.0;
    /// bf16 weights (TorchSharp has no CPU autocast; the stage converts the model before training).
    public bool Bf16Weights { get; init; } = false;
    /// With Bf16Weights: fp32 master weights for the optimizer (TrainConfig.Fp32MasterWeights).
    /// Left out of the JSON while false, so experiment cache keys made before it existed stay valid.
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool Fp32MasterWeights { get; init; } = false;
    /// Seeds the data order and the per-step torch seed; both arms of an experiment use the same.
    public long Seed { get; init; } = 42;
    public int LogEvery { get; init; } = 1;
    public int CheckpointEvery { get; init; } = 0;
    /// Embedding loss on/off; null = the stage's rule (PT: on; IFT: OlaConfig.EmbeddingLossInFinetune; VPT: off).
    public bool? EmbeddingLoss { get; init; }

    /// The curriculum, IFT only: steps drawn from the one-hop pool (ift_onehop.json: "where is the
    /// red cube", "is it near or far") before the benchmark pool (ift.json). 0 = no curriculum.
    public int OneHopSteps { get; init; } = 0;

    /// The PT curriculum, PT only: steps drawn from scenes with at most FewObjectsMax objects before all of pt.json.
    /// Why: a caption of one or two objects ties each object's words to the few patches it covers; in a six-object
    /// scene the same words could come from any of them. Left out of the JSON at 0 (cache keys made before it stay).
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public int FewObjectsSteps { get; init; } = 0;
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public int FewObjectsMax { get; init; } = 0;

    /// PT only: added to the run's seed for the weights initialised before PT (the projector, OLA-VLM's modules),
    /// while data order keeps the run's seed. Separates what an initialisation decides from what data order does
    /// (OlaCheck align init=N). Left out of the JSON at 0.
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public long InitSeedOffset { get; init; } = 0;

    /// PT only: initialisations tried before PT goes on with one of them (InitSelection); 0 or 1 = the seed's own.
    /// Each trains the stage's first InitProbeSteps steps; the lowest next-token loss over the last quarter of
    /// those goes on. Left out of the JSON at 0.
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public int InitCandidates { get; init; } = 0;
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public int InitProbeSteps { get; init; } = 0;
    /// PT only, with InitCandidates: the candidates are tried in order and the first whose probe loss is at most this
    /// goes on at once (the rest are never trained); when none is, the lowest goes on. 0 = try them all (best of k).
    /// Why: a start that ends the few-object phase on the plateau's loss is restarted; a good start costs nothing and
    /// trains exactly as without the rule (InitSelection). Left out of the JSON at 0.
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public double InitAcceptBelow { get; init; } = 0;

    /// LoRA instead of full weights for the LLM (LLaVA-1.5's finetune_lora): adapters on the LLM's Linear layers train
    /// at Lora.LearningRate, the rest of the LLM stays frozen, the projector keeps ProjectorLr. Null = full weights;
    /// left out of the JSON while null, so cache keys made before it existed stay valid.
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public LoraConfig? Lora { get; init; }

    /// Checkpoints hold only the trained weights (TrainConfig.CheckpointTrainableOnly): at full scale a PT checkpoint is
    /// the projector and OLA-VLM's modules, not a copy of the frozen LLM. Left out of the JSON while false.
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool CheckpointTrainableOnly { get; init; } = false;

    public int EffectiveBatch => BatchSize * GradAccum;

    public TrainConfig ToTrainConfig(string outputDir) => new()
    {
        Steps = Steps, BatchSize = BatchSize, GradAccum = GradAccum, MaxGradNorm = MaxGradNorm, Seed = Seed,
        LearningRate = ProjectorLr, WarmupRatio = WarmupRatio, MinLrRatio = MinLrRatio, WeightDecay = WeightDecay,
        LogEvery = LogEvery, CheckpointEvery = CheckpointEvery, Bf16Weights = Bf16Weights, Fp32MasterWeights = Fp32MasterWeights,
        CheckpointTrainableOnly = CheckpointTrainableOnly, OutputDir = outputDir,
    };

    // ---- the paper (LLaVA-1.5 recipe as used by OLA-VLM): 558K captions at batch 256, 665K instructions at 128.
    public static StageConfig PaperPretrain => new() { Kind = StageKind.Pretrain, Steps = 2180, BatchSize = 256, ProjectorLr = 1e-3, OlaLr = 1e-3 };
    public static StageConfig PaperFinetune => new() { Kind = StageKind.Finetune, Steps = 5200, BatchSize = 128, ProjectorLr = 2e-5, LlmLr = 2e-5 };
    public static StageConfig PaperVisualPretrain => new() { Kind = StageKind.VisualPretrain, Steps = 5000, BatchSize = 128, ProjectorLr = 2e-5, LlmLr = 2e-5, VisionLr = 2e-5, OlaLr = 2e-5 };

    // ---- miniature world. Why larger IFT rates than 2e-5: a tiny LLM sees a few hundred steps, not 5,200
    // steps of batch 128; at 2e-5 it would barely move. The ratios (PT ≫ IFT) are kept.
    public static StageConfig QuickPretrain => new() { Kind = StageKind.Pretrain, Steps = 16, BatchSize = 8, ProjectorLr = 2e-3, OlaLr = 2e-3, WarmupRatio = 0.1 };
    public static StageConfig QuickFinetune => new() { Kind = StageKind.Finetune, Steps = 20, BatchSize = 8, ProjectorLr = 5e-4, LlmLr = 5e-4, WarmupRatio = 0.1, OneHopSteps = 6 };
    public static StageConfig FullPretrain => new() { Kind = StageKind.Pretrain, Steps = 160, BatchSize = 16, ProjectorLr = 2e-3, OlaLr = 2e-3, LogEvery = 2 };
    public static StageConfig FullFinetune => new() { Kind = StageKind.Finetune, Steps = 240, BatchSize = 16, ProjectorLr = 3e-4, LlmLr = 3e-4, LogEvery = 2, OneHopSteps = 80 };
    public static StageConfig QuickVisualPretrain => new() { Kind = StageKind.VisualPretrain, Steps = 20, BatchSize = 8, ProjectorLr = 3e-4, LlmLr = 3e-4, VisionLr = 1e-4, OlaLr = 3e-4, WarmupRatio = 0.1 };
}
