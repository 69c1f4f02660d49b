namespace OlaVlm.World;

/// How a scene is given to the LLM in text.
///   Words:   every fact is a token in a row ("cube red c1 r5 x5 d9; sphere …"). Finding an object's facts from
///            its name is then a two-step induction (find the key, copy what follows). The found-4 LLM, trained
///            4,000 steps on this form, copied entries by their order instead of by key (text oracle 0.43; the
///            fact after a key right 48–53 % teacher-forced): the plateau, in text.
///   Objects: one position per object, its words pooled into one vector (Foundation.ObjectTokens) — what an
///            image gives the LLM, where a patch holds an object's colour, shape and place at once, so finding
///            an object is one attention look-up.
/// Measured with `OlaCheck reasoning` (1,200 steps, 600 of them one-hop; fact after a key, teacher-forced, on
/// benchmark scenes): Objects with 8 heads of 16 dims and RoPE θ 1e4: 45 %. Objects with 4 heads of 32 dims
/// and θ 1e6 (more rotary dimensions slow enough to match content across a prompt): 100 %. Words with 4 × 32
/// and θ 1e6: 42 %. Neither change alone finds the object; both together do.
public enum SceneForm { Words, Objects }

/// A user turn that states a scene: Text holds one ObjectToken placeholder per object (Objects form) or the
/// words themselves (Words form; Objects empty); Objects[i] lists the words pooled into the i-th placeholder.
public sealed record ScenePrompt(string Text, IReadOnlyList<IReadOnlyList<string>> Objects)
{
    public const string ObjectToken = "<obj>";

    public static ScenePrompt Of(IReadOnlyList<ObjectFacts> facts, string question, SceneForm form) => form switch
    {
        SceneForm.Words => new(SceneText.Prompt(facts, question), []),
        SceneForm.Objects => new("scene: " + string.Join(" ", facts.Select(_ => ObjectToken)) + ".\n" + question,
                                 facts.Select(f => (IReadOnlyList<string>)f.Entry.Split(' ')).ToList()),
        _ => throw new ArgumentOutOfRangeException(nameof(form), form, "unknown scene form"),
    };

    /// A plain question (later turns of a conversation; no scene).
    public static ScenePrompt Plain(string question) => new(question, []);

    /// For people: each object token shown as its words in brackets.
    public override string ToString()
    {
        var parts = Text.Split(ObjectToken);
        if (parts.Length - 1 != Objects.Count)
            throw new InvalidOperationException($"ScenePrompt: {parts.Length - 1} {ObjectToken} placeholders but {Objects.Count} objects");
        var sb = new System.Text.StringBuilder(parts[0]);
        for (int i = 0; i < Objects.Count; i++) sb.Append('[').Append(string.Join(' ', Objects[i])).Append(']').Append(parts[i + 1]);
        return sb.ToString();
    }
}
