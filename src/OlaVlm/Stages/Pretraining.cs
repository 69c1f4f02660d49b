using OlaVlm.Ola;
using OlaVlm.World;

namespace OlaVlm.Stages;

/// Pre-training (PT), LLaVA-1.5's feature alignment, and what OLA-VLM adds to it. Read top to bottom:
///   data       image captions (pt.json). The miniature's curriculum draws the first FewObjectsSteps steps from
///              scenes with at most FewObjectsMax objects: a caption of one or two objects ties each object's words
///              to the few patches it covers, where in a six-object scene they could come from any of them.
///   trainable  the projector. OLA-VLM adds its task tokens, embedding predictors and logit scales (`ola.*`).
///              CLIP and the LLM stay frozen.
///   loss       next-token loss on the caption. OLA-VLM adds the embedding loss: at each predictor layer,
///              smooth-L1 + 0.3·InfoNCE against the frozen teacher's features of the same image, λ per task
///              (Ola.EmbeddingLoss); zero for text-only samples.
///   loop       Stage.Run → Training.Trainer (AdamW, warm-up + cosine, clipping, checkpoints, resume).
public static class Pretraining
{
    /// The captions, with the few-object curriculum first when the stage asks for it.
    public static IStageData Data(RecipeData pools, StageConfig sc) => sc.FewObjectsSteps <= 0
        ? pools.Captions
        : new CurriculumStageData(pools.FewObjectCaptions(sc.FewObjectsMax), pools.Captions, sc.FewObjectsSteps * sc.GradAccum);

    /// Parameter-name prefixes that train (everything else is frozen).
    public static IReadOnlyList<string> Trainable(OlaVlmModel model) =>
        model.OlaActive ? ["llava.mm_projector", "ola"] : ["llava.mm_projector"];

    /// The embedding loss is on for OLA-VLM in PT (StageConfig.EmbeddingLoss = false switches it off: an ablation).
    public static bool EmbeddingLoss(OlaVlmModel model, StageConfig sc) => model.OlaActive && (sc.EmbeddingLoss ?? true);

    /// PT curriculum's first pool: the pt captions of scenes with at most `maxObjects` objects.
    public static LlavaDataset FewObjectCaptions(WorldData world, int maxObjects)
    {
        var objects = world.Scenes("pt").ToDictionary(s => s.Image, s => s.Objects.Count);
        return LlavaDataset.Load(world.PtJson).Where(r => r.Image is { } im && objects.TryGetValue(im, out var n) && n <= maxObjects,
                                                     $"an image of at most {maxObjects} objects");
    }
}
