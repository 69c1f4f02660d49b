using System.Text.Json.Serialization;
using OlaVlm.Eval;
using OlaVlm.Ola;

namespace OlaVlm.Stages;

/// Both arms' recipe. OLA-VLM's task shapes come from the teachers (OlaConfig.ForTeachers) at run time.
public sealed record ExperimentConfig
{
    public OlaConfig Ola { get; init; } = OlaConfig.Miniature;
    public StageConfig Pretrain { get; init; } = StageConfig.QuickPretrain;
    public StageConfig? VisualPretrain { get; init; }
    public StageConfig Finetune { get; init; } = StageConfig.QuickFinetune;
    /// The projector's hidden width (LlavaConfig.ProjectorHidden): null = the LLM width, as LLaVA-1.5. Left out
    /// of the JSON when null, keeping cache keys.
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? ProjectorHidden { get; init; }
    /// Benchmark items answered (0 = all).
    public int BenchLimit { get; init; } = 0;
    /// Reasoned answers ("red c1 r5 x5 d9, blue c6 r4 x12 d9, so blue sphere (B)") run to ~30 tokens.
    public int MaxNewTokens { get; init; } = 48;
    /// Share of the IFT records (both pools) used, steps unchanged, so a smaller share is seen more often. Left out
    /// of the JSON at 1, keeping cache keys. Not notebook 06's IFT-share ablation: the miniature's IFT reads fewer
    /// records than even 25 % of the pool holds, so there it scales the steps (ExperimentArms.WithIftShare).
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double IftDataFraction { get; init; } = 1.0;
    public int EvalBatchSize { get; init; } = 32;
    /// CV-Bench's reference parsing. The miniature's tokenizer keeps "(A)" as one upper-case token, so
    /// its replies are read exactly as a real model's are.
    public AnswerParsing Parsing { get; init; } = AnswerParsing.Reference;

    public static ExperimentConfig Quick => new() { BenchLimit = 60 };
    public static ExperimentConfig Full => new() { Pretrain = StageConfig.FullPretrain, Finetune = StageConfig.FullFinetune };
}
