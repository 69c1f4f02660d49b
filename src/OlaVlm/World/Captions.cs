namespace OlaVlm.World;

/// Captions for pre-training, written from the scene graph with a small regular vocabulary.
/// Objects are listed left to right, so word order carries layout.
public static class Captions
{
    static readonly string[] Prompts =
    [
        "Give a brief description of the image.",
        "Describe the image briefly.",
        "What is in the image?",
    ];

    public static string Describe(Scene s, Rng rng)
    {
        var objs = s.Objects.OrderBy(o => o.Box.CenterX).ToList();
        var phrases = objs.Select(o => $"a {Shapes.Name(o.Size)} {o.Name}").ToList();
        string list = phrases.Count == 1 ? phrases[0] : string.Join(", ", phrases.Take(phrases.Count - 1)) + " and " + phrases[^1];
        string noun = objs.Count == 1 ? "object" : "objects";
        int template = rng.Next(3);
        return template switch
        {
            0 => $"There {(objs.Count == 1 ? "is" : "are")} {objs.Count} {noun} on the floor: {list}.",
            1 => $"From left to right: {list}.",
            _ => $"{Capitalise(list)} {(objs.Count == 1 ? "stands" : "stand")} on the floor.",
        };
    }

    /// One pre-training record: a fixed-style prompt and the caption.
    public static LlavaRecord Record(Scene s, string image, Rng rng) =>
        new(s.Id, image,
        [
            new(LlavaRecord.Human, LlavaRecord.ImageToken + "\n" + rng.Pick(Prompts)),
            new(LlavaRecord.Gpt, Describe(s, rng)),
        ]);

    static string Capitalise(string s) => char.ToUpperInvariant(s[0]) + s[1..];
}
