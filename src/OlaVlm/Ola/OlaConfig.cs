namespace OlaVlm.Ola;

/// The three visual tasks whose teacher embeddings OLA-VLM distills into the LLM's hidden states.
/// Names follow the paper and the reference `aux_mode` string ("gen-depth-seg").
public enum OlaTask { Gen, Depth, Seg }

public static class OlaTaskNames
{
    public static string Name(this OlaTask t) => t switch
    {
        OlaTask.Gen => "gen", OlaTask.Depth => "depth", OlaTask.Seg => "seg",
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown OLA task"),
    };

    /// Parses "gen", "depth" or "seg" (case-insensitive).
    public static OlaTask Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "gen" => OlaTask.Gen, "depth" => OlaTask.Depth, "seg" => OlaTask.Seg,
        _ => throw new ArgumentException($"unknown OLA task '{name}' (expected gen, depth or seg)", nameof(name)),
    };
}

/// When the embedding loss is applied. The paper's best setting uses it in pre-training only
/// (ablation: PT 55.1 vs PT+IFT 53.0 on CV-Bench for Llama3 + ViT-L).
public enum TrainingStage { Pretrain, Finetune }

/// One task's teacher target and loss knobs.
/// `NumTargetTokens` × `TargetDim` is the teacher's embedding: depth 576×1024 (DAv2-L), seg 576×1536
/// (OneFormer Swin-L last stage, 24×24 grid), gen 1×1024 (SD-2.1-unCLIP image_embeds).
/// `PaperLayers` are 1-based layer numbers for the paper's 32-layer LLM; see OlaConfig.LayersFor.
/// `InnerDim` is the predictor's working width; null = the reference choice (depth: LLM hidden size,
/// seg and gen: TargetDim — TaskTokenDepthHead uses dim=llm_hidden_size, the others dim=output_dim).
public sealed record OlaTaskSpec(
    OlaTask Task,
    int NumTargetTokens,
    int TargetDim,
    IReadOnlyList<int> PaperLayers,
    double LossWeight = 0.5,
    int? InnerDim = null)
{
    public int InnerDimFor(int llmHidden) => InnerDim ?? (Task == OlaTask.Depth ? llmHidden : TargetDim);
}

/// Every OLA-VLM knob with the paper's defaults (arXiv 2412.09585, reference train script defaults).
public sealed record OlaConfig
{
    /// Which tasks are used AND the order of their task tokens in the sequence (reference "gen-depth-seg").
    /// A subset is the task ablation.
    public IReadOnlyList<OlaTask> Tasks { get; init; } = [OlaTask.Gen, OlaTask.Depth, OlaTask.Seg];

    /// Task tokens per task in the sequence (N). Ablation: 0 / 4 / 8 / 16; 8 is best.
    public int NumTaskTokens { get; init; } = 8;

    /// Image tokens of the paper's encoder (CLIP ViT-L/14 at 336²: 24 × 24), the context NumTaskTokens was chosen beside.
    public const int PaperImageTokens = 576;

    /// Layer numbers in `OlaTaskSpec.PaperLayers` refer to an LLM of this depth.
    public int PaperNumLayers { get; init; } = 32;

    public IReadOnlyDictionary<OlaTask, OlaTaskSpec> Specs { get; init; } = FullScaleSpecs;

    /// Weight of the InfoNCE term next to smooth-L1 (w_c); UseContrastive=false is the ablation without it.
    public double ContrastiveWeight { get; init; } = 0.3;
    public bool UseContrastive { get; init; } = true;
    /// Learnable logit scale s: logits are multiplied by min(exp(s), LogitScaleMax) (CLIP-style).
    public double LogitScaleInit { get; init; } = 2.0;
    public double LogitScaleMax { get; init; } = 100.0;
    /// How text-only samples enter the embedding loss. Default: the reference's intent, masked and averaged
    /// over the whole batch with text-only rows as InfoNCE negatives; ImageSamplesOnly averages over image
    /// samples only; ReleasedBroadcast reproduces the released code's [B]×[B,1,1] InfoNCE broadcast.
    public EmbeddingLossReduction LossReduction { get; init; } = EmbeddingLossReduction.MaskedBatchMean;

    /// The predictor (TaskTokenResampler): one Perceiver block, 4 heads of 32, feed-forward multiplier 1.
    /// Its number of queries is the task's NumTargetTokens; given latents are fitted to it by QueryTiling.
    public int PredictorDepth { get; init; } = 1;
    public int PredictorHeads { get; init; } = 4;
    public int PredictorDimHead { get; init; } = 32;
    public int PredictorFfMult { get; init; } = 1;

    /// Which parts of a layer's sequence a predictor reads besides the image and its own task tokens
    /// (paper ablation: +sys +txt is best; reference always passes sys, pass_text_to_aux defaults True).
    public bool PassSystemToPredictor { get; init; } = true;
    public bool PassTextToPredictor { get; init; } = true;

    /// Embedding loss in instruction fine-tuning too (ablation); default: pre-training only.
    public bool EmbeddingLossInFinetune { get; init; } = false;

    /// Std of the task-token initialisation (reference: torch.randn, i.e. 1).
    public double TaskTokenInitStd { get; init; } = 1.0;

    /// The config with NumTaskTokens scaled to an encoder of `imageTokens` image tokens, keeping the paper's share of
    /// the visual context: 8 per task beside 576 image tokens (24 of 600, 4 %). The miniature's 64 image tokens get
    /// round(8 · 64 / 576) = 1 per task (3 of 67, 4.5 %), where 8 per task would be 24 of 88 (27 %) and the frozen LLM
    /// would read every caption token through them. At least 1, so the predictors keep their tokens.
    public OlaConfig ScaledToImageTokens(int imageTokens)
    {
        if (imageTokens < 1) throw new ArgumentOutOfRangeException(nameof(imageTokens), imageTokens, "an encoder gives at least one image token");
        return this with { NumTaskTokens = Math.Max(1, (int)Math.Round(NumTaskTokens * (double)imageTokens / PaperImageTokens, MidpointRounding.AwayFromZero)) };
    }

    public bool EmbeddingLossActive(TrainingStage stage) =>
        stage == TrainingStage.Pretrain || EmbeddingLossInFinetune;

    public OlaTaskSpec Spec(OlaTask task) =>
        Specs.TryGetValue(task, out var s) ? s : throw new KeyNotFoundException($"OlaConfig.Specs has no entry for task '{task.Name()}'");

    /// The paper's settings at full scale (Llama3-8B, CLIP ViT-L/14-336: 576 image tokens).
    public static OlaConfig Paper => new();

    /// A small preset for the miniature world: 16 target tokens (a 4×4 grid) and narrow teacher dims.
    /// The world's real teacher shapes win: override Specs with `with` when they differ.
    public static OlaConfig Miniature => new() { Specs = MiniatureSpecs };

    public static IReadOnlyDictionary<OlaTask, OlaTaskSpec> FullScaleSpecs { get; } = new Dictionary<OlaTask, OlaTaskSpec>
    {
        [OlaTask.Depth] = new(OlaTask.Depth, 576, 1024, [8, 20]),
        [OlaTask.Seg] = new(OlaTask.Seg, 576, 1536, [10, 18]),
        [OlaTask.Gen] = new(OlaTask.Gen, 1, 1024, [12, 20]),
    };

    public static IReadOnlyDictionary<OlaTask, OlaTaskSpec> MiniatureSpecs { get; } = new Dictionary<OlaTask, OlaTaskSpec>
    {
        [OlaTask.Depth] = new(OlaTask.Depth, 16, 32, [8, 20]),
        [OlaTask.Seg] = new(OlaTask.Seg, 16, 48, [10, 18]),
        [OlaTask.Gen] = new(OlaTask.Gen, 1, 32, [12, 20]),
    };

    /// The 1-based layers of an `numLayers`-deep LLM that get a predictor for `task`.
    /// Each paper layer l keeps its relative depth: round(l · numLayers / PaperNumLayers), halves
    /// rounded up (MidpointRounding.AwayFromZero), clamped to [1, numLayers]. Layers that collapse
    /// onto the same number are kept once (a set, ascending). With 32 layers this is the paper's list;
    /// with 8 layers: depth {2,5}, seg {3,5} (2.5→3, 4.5→5), gen {3,5}.
    public IReadOnlyList<int> LayersFor(OlaTask task, int numLayers) =>
        Spec(task).PaperLayers.Select(l => ScaleLayer(l, PaperNumLayers, numLayers)).Distinct().Order().ToArray();

    public static int ScaleLayer(int paperLayer, int paperNumLayers, int numLayers)
    {
        if (numLayers < 1) throw new ArgumentOutOfRangeException(nameof(numLayers), numLayers, "an LLM needs at least one layer");
        if (paperLayer < 1 || paperLayer > paperNumLayers)
            throw new ArgumentOutOfRangeException(nameof(paperLayer), paperLayer, $"layer must be in 1..{paperNumLayers}");
        var scaled = (int)Math.Round(paperLayer * (double)numLayers / paperNumLayers, MidpointRounding.AwayFromZero);
        return Math.Clamp(scaled, 1, numLayers);
    }

    /// Checks the settings that would otherwise fail deep inside a forward pass.
    public OlaConfig Validate()
    {
        if (NumTaskTokens < 0) throw new ArgumentException($"OlaConfig.NumTaskTokens must be >= 0, got {NumTaskTokens}");
        if (Tasks.Distinct().Count() != Tasks.Count) throw new ArgumentException($"OlaConfig.Tasks lists a task twice: {string.Join(",", Tasks)}");
        foreach (var t in Tasks)
        {
            var s = Spec(t);
            if (s.Task != t) throw new ArgumentException($"OlaConfig.Specs[{t.Name()}] describes task {s.Task.Name()}");
            if (s.NumTargetTokens < 1 || s.TargetDim < 1) throw new ArgumentException($"OlaConfig.Specs[{t.Name()}]: target shape {s.NumTargetTokens}×{s.TargetDim} must be positive");
            if (s.PaperLayers.Count == 0) throw new ArgumentException($"OlaConfig.Specs[{t.Name()}] has no layers");
            if (t != OlaTask.Gen && NumTaskTokens > 0 && s.NumTargetTokens % NumTaskTokens != 0)
                throw new ArgumentException($"OlaConfig: {t.Name()} has {s.NumTargetTokens} target tokens, not divisible by NumTaskTokens={NumTaskTokens} " +
                                            "(its query parameter is mean-pooled in equal groups down to the task tokens)");
        }
        return this;
    }
}
