namespace OlaVlm.Training;

/// LoRA (Hu et al. 2021) as LLaVA-1.5's `finetune_lora` recipe uses it through PEFT: each chosen Linear
/// y = W·x becomes y = W·x + (Alpha/R)·B·A·dropout(x), with A [R, in] and B [out, R] the only trained weights.
/// Defaults are LLaVA-1.5's (scripts/v1_5/finetune_lora.sh: lora_r 128, lora_alpha 256, learning_rate 2e-4,
/// mm_projector_lr 2e-5; train.py: lora_dropout 0.05, lora_bias "none").
/// TargetModules: leaf module names (PEFT's target_modules); null = LLaVA's find_all_linear_names rule, i.e.
/// every Linear outside the vision tower and projector except lm_head (Lora.LlavaTargets).
/// LearningRate: the adapters' rate. It replaces the LLM's rate in a LoRA stage (LLaVA raises 2e-5 to 2e-4:
/// the adapters start at zero and are low-rank, so they need larger steps than full weights); the
/// projector keeps its own rate (StageConfig.ProjectorLr, LLaVA's mm_projector_lr).
public sealed record LoraConfig
{
    public int R { get; init; } = 128;
    public double Alpha { get; init; } = 256;
    public double Dropout { get; init; } = 0.05;
    public IReadOnlyList<string>? TargetModules { get; init; }
    public double LearningRate { get; init; } = 2e-4;
    /// What adapter_config.json names as the base model (PEFT's base_model_name_or_path).
    public string BaseModelNameOrPath { get; init; } = "";

    /// PEFT's scaling (use_rslora false): alpha / r.
    [System.Text.Json.Serialization.JsonIgnore] public double Scaling => Alpha / R;

    /// LLaVA-1.5's finetune_lora recipe.
    public static LoraConfig Llava15 => new();

    /// The miniature world: a 64-wide LLM has no room for rank 128, so rank 8 with LLaVA's alpha/r = 2.
    /// Rate: 1e-3, 2-3× the miniature full-IFT rates (3e-4, 5e-4), not LLaVA's 10×: on the 32-wide test LLM
    /// (LoraVsFullIftTests) LoRA did best at 0.3× the full rate and worse at 1× and 3× (the adapters overshoot
    /// on so few steps). Not yet swept on the miniature world itself.
    public static LoraConfig Miniature => new() { R = 8, Alpha = 16, Dropout = 0.05, LearningRate = 1e-3 };

    public LoraConfig Validate()
    {
        if (R < 1) throw new ArgumentOutOfRangeException(nameof(R), R, "LoraConfig: the rank r must be at least 1");
        if (!(Alpha > 0)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "LoraConfig: lora_alpha must be positive");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "LoraConfig: lora_dropout must be in [0, 1)");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LoraConfig: the learning rate must be positive");
        if (TargetModules is { Count: 0 }) throw new ArgumentException("LoraConfig: TargetModules is empty (null = LLaVA's rule)");
        return this;
    }
}
