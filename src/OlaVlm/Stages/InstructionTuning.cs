using OlaVlm.Ola;
using OlaVlm.Training;

namespace OlaVlm.Stages;

/// Instruction tuning (IFT), LLaVA-1.5's visual instruction tuning, as OLA-VLM runs it. Read top to bottom:
///   data       instructions about images with text-only turns (ift.json). The miniature's curriculum draws the
///              first OneHopSteps steps from one-hop look-ups ("where is the red cube?"): two-object comparisons
///              give no signal until the model can look an object up.
///   trainable  the projector and the LLM. OLA-VLM's task tokens stay frozen (the paper: 55.1 frozen vs 52.3
///              trained); only with the embedding-loss-in-IFT ablation do its predictors and logit scales learn on.
///   loss       next-token loss only (OlaConfig.EmbeddingLossInFinetune turns the embedding loss on: the paper's
///              "PT + IFT" ablation, 53.0 against 55.1 for PT only).
///   loop       Stage.Run → Training.Trainer.
public static class InstructionTuning
{
    /// The instructions, with the one-hop curriculum first when the stage asks for it.
    public static IStageData Data(RecipeData pools, StageConfig sc) => sc.OneHopSteps > 0
        ? new CurriculumStageData(pools.OneHop, pools.Instructions, sc.OneHopSteps * sc.GradAccum)
        : pools.Instructions;

    public static IReadOnlyList<string> Trainable(OlaVlmModel model, bool embeddingLoss) =>
        ["llava.mm_projector", "llava.language_model", .. embeddingLoss ? Stage.HeadPrefixes(model) : []];

    public static bool EmbeddingLoss(OlaVlmModel model, StageConfig sc) =>
        model.OlaActive && (sc.EmbeddingLoss ?? model.Heads!.Config.EmbeddingLossActive(TrainingStage.Finetune));
}
