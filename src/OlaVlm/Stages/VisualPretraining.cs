using OlaVlm.Ola;

namespace OlaVlm.Stages;

/// Visual pre-training (VPT), the optional stage between PT and IFT (ALLaVA-Caption in the paper; the IFT pool in the
/// miniature). Read top to bottom:
///   data       the instruction pool, no curriculum.
///   trainable  everything but the teachers: CLIP, projector and LLM; OLA-VLM's task tokens too (they get gradient
///              through the sequence); predictors and logit scales only with the embedding loss on.
///   loss       next-token loss only, unless StageConfig.EmbeddingLoss turns the embedding loss on.
public static class VisualPretraining
{
    public static IStageData Data(RecipeData pools) => pools.Instructions;

    public static IReadOnlyList<string> Trainable(OlaVlmModel model, bool embeddingLoss) =>
        ["llava", .. model.OlaActive ? ["ola.task_tokens"] : Array.Empty<string>(), .. embeddingLoss ? Stage.HeadPrefixes(model) : []];

    public static bool EmbeddingLoss(OlaVlmModel model, StageConfig sc) => model.OlaActive && (sc.EmbeddingLoss ?? false);
}
