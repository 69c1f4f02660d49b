using static TorchSharp.torch;

namespace OlaVlm.Training;

/// Every knob of one training run, nanoGPT style: a flat record with defaults, nothing read from globals.
/// Defaults follow LLaVA-1.5 / OLA-VLM (cosine schedule, warmup_ratio 0.03, clip at 1.0, no weight decay);
/// the per-group learning rates themselves live on the ParamGroups (projector 1e-3 in PT, 2e-5 in IFT...).
public sealed record TrainConfig
{
    /// Optimizer steps (one step = GradAccum micro-batches).
    public int Steps { get; init; } = 100;
    /// Samples per micro-batch; the step function builds its batch, this is only used for samples/s.
    public int BatchSize { get; init; } = 8;
    /// Micro-batches accumulated per optimizer step. Effective batch = BatchSize * GradAccum.
    public int GradAccum { get; init; } = 1;
    /// Global L2 gradient-norm clip (LLaVA/HF max_grad_norm 1.0). 0 or less: measure the norm, never clip.
    public double MaxGradNorm { get; init; } = 1.0;
    /// Seeds torch at the start of every step via StepSeed(Seed, step), so a resumed run replays exactly.
    public long Seed { get; init; } = 42;
    /// Learning rate for groups that do not set their own (ParamGroups.Rule.Lr).
    public double LearningRate { get; init; } = 2e-3;
    /// Fraction of Steps spent in linear warmup (HF: warmup_steps = ceil(ratio * steps)).
    public double WarmupRatio { get; init; } = 0.03;
    /// Cosine decays to MinLrRatio * base lr (0 = LLaVA's plain cosine to zero).
    public double MinLrRatio { get; init; } = 0.0;
    /// Decoupled weight decay for groups that do not set their own (LLaVA trains with 0).
    public double WeightDecay { get; init; } = 0.0;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Eps { get; init; } = 1e-8;
    /// Append a metrics row every LogEvery steps (and at the last step).
    public int LogEvery { get; init; } = 10;
    /// Call the eval function every EvalEvery steps (0 = never, except at the end when one is given).
    public int EvalEvery { get; init; } = 0;
    /// Write a checkpoint every CheckpointEvery steps (0 = only at the end).
    public int CheckpointEvery { get; init; } = 0;
    /// Also write one once this many minutes of training have passed since the last (0 = never by time), so a run that
    /// is killed or interrupted loses at most that much work. Checkpoints change only the files written, never the
    /// numbers: every step reseeds from (Seed, step), so a resumed run replays the uninterrupted one bit for bit.
    public double CheckpointMinutes { get; init; } = 5;
    /// Completed checkpoints kept on disk (older ones are deleted after a new one is complete).
    public int KeepCheckpoints { get; init; } = 2;
    /// Save only trainable parameters and buffers (PT stage of a 7B model: the projector, not the LLM).
    /// Resume then needs the frozen weights loaded the same way as the first time.
    public bool CheckpointTrainableOnly { get; init; } = false;
    /// Weights are bfloat16. TorchSharp has no CPU autocast, so bf16 means bf16 weights; the Trainer
    /// checks the model's floating-point parameters agree with this flag rather than converting them.
    public bool Bf16Weights { get; init; } = false;
    /// With Bf16Weights: AdamW updates fp32 copies of the trainable weights (and keeps fp32 moments); the model
    /// computes in bf16 and gets the rounded copies after each step (MasterWeights). Off: AdamW updates the bf16
    /// weights themselves, with bf16 moments.
    public bool Fp32MasterWeights { get; init; } = false;
    /// The run folder: metrics.jsonl/csv, eval.jsonl/csv, checkpoints/. Null: out/runs/<timestamp>.
    public string? OutputDir { get; init; }

    public ScalarType WeightDtype => Bf16Weights ? ScalarType.BFloat16 : ScalarType.Float32;

    public int WarmupSteps => (int)Math.Ceiling(Steps * WarmupRatio);

    /// Throws on settings that cannot work, naming the field.
    public void Validate()
    {
        void Need(bool ok, string what) { if (!ok) throw new ArgumentException($"TrainConfig: {what}"); }
        Need(Steps > 0, $"Steps must be > 0 (got {Steps})");
        Need(BatchSize > 0, $"BatchSize must be > 0 (got {BatchSize})");
        Need(GradAccum > 0, $"GradAccum must be > 0 (got {GradAccum})");
        Need(WarmupRatio is >= 0 and <= 1, $"WarmupRatio must be in [0, 1] (got {WarmupRatio})");
        Need(MinLrRatio is >= 0 and <= 1, $"MinLrRatio must be in [0, 1] (got {MinLrRatio})");
        Need(LogEvery > 0, $"LogEvery must be > 0 (got {LogEvery})");
        Need(EvalEvery >= 0 && CheckpointEvery >= 0 && CheckpointMinutes >= 0, "EvalEvery, CheckpointEvery and CheckpointMinutes must be >= 0");
        Need(KeepCheckpoints > 0, $"KeepCheckpoints must be > 0 (got {KeepCheckpoints})");
        Need(LearningRate >= 0 && WeightDecay >= 0, "LearningRate and WeightDecay must be >= 0");
        Need(!Fp32MasterWeights || Bf16Weights, "Fp32MasterWeights needs Bf16Weights (fp32 weights are their own masters)");
    }

    /// The seed torch gets at the start of `step`. Also the natural seed for a step's data order, so
    /// a caller can shuffle with new Random(TrainConfig.StepSeed(seed, step)) and resume replays it.
    public static long StepSeed(long seed, int step)
    {
        // SplitMix64 finaliser: neighbouring steps get unrelated seeds.
        ulong z = unchecked((ulong)seed + 0x9E3779B97F4A7C15UL * (ulong)(step + 1));
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (long)((z ^ (z >> 31)) & 0x7FFF_FFFF_FFFF_FFFFUL);
    }
}
