namespace OlaVlm.World;

/// Pre-training captions (LLaVA's PT stage; the mini CLIP's text side too): the scene in the world's
/// grounded words, objects left to right with their grid facts ("cube red c1 r5 x5 d9; sphere blue …").
/// Why these and not prose: they name what the benchmark needs — which objects, where, how deep — so
/// aligning image tokens to them (PT) and images to them (CLIP) teaches exactly the perception it asks for.
public static class Captions
{
    public static string Describe(Scene s) => SceneText.Describe(SceneText.Facts(s.Objects, s.Width));

    /// One pre-training record: the describe prompt and the caption.
    public static LlavaRecord Record(Scene s, string image) =>
        new(s.Id, image,
        [
            new(LlavaRecord.Human, LlavaRecord.ImageToken + "\n" + SceneQa.DescribePrompt),
            new(LlavaRecord.Gpt, Describe(s)),
        ]);
}
