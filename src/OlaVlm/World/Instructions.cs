namespace OlaVlm.World;

/// Instruction-tuning conversations (LLaVA format) from the scene graph, in the world's grounded words
/// (SceneQa): one-hop look-ups, CV-Bench-style multiple choice answered with their reasoning, and whole-scene
/// descriptions. Two pools, for the curriculum (Stages.StageConfig.OneHopSteps): the one-hop pool
/// (ift_onehop.json) and the benchmark pool (ift.json: comparisons, with a share of one-hop turns kept).
/// Text-only conversations state the scene in words instead of showing it, so batches mix samples without
/// images (OLA-VLM's embedding loss skips them) and the LLM keeps its text reasoning. They spell the scene out
/// word by word (SceneForm.Words): LLaVA records are plain text plus `<image>`, with no object tokens.
public static class Instructions
{
    public const int Turns = 3;

    public static LlavaRecord Conversation(Scene s, string image, Rng rng, bool oneHopPool, WorldConfig config)
    {
        var conv = Turns_(s, rng, oneHopPool, config);
        conv[0] = conv[0] with { Value = LlavaRecord.ImageToken + "\n" + conv[0].Value };
        return new(s.Id, image, conv);
    }

    /// The same questions about a scene given in words (the text oracle's format).
    public static LlavaRecord TextOnly(Scene s, string id, Rng rng, bool oneHopPool, WorldConfig config)
    {
        var conv = Turns_(s, rng, oneHopPool, config);
        conv[0] = conv[0] with { Value = SceneText.Prompt(SceneText.Facts(s.Objects, s.Width), conv[0].Value) };
        return new(id, null, conv);
    }

    static List<Turn> Turns_(Scene s, Rng rng, bool oneHopPool, WorldConfig config)
    {
        var curriculum = new Curriculum(oneHopPool ? 1 : 0, config.OneHopShare, config.DescribeShare);
        var conv = new List<Turn>();
        for (int t = 0; t < Turns; t++)
        {
            var qa = SceneQa.Sample(s, curriculum, step: 0, rng);
            conv.Add(new(LlavaRecord.Human, qa.Question));
            conv.Add(new(LlavaRecord.Gpt, qa.Answer));
        }
        return conv;
    }
}
