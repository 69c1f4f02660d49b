namespace OlaVlm.World;

/// What the world's grounded text says about one object: its name and four whole numbers on coarse grids.
///   Col, Row   where its box centre falls in an 8×8 grid over the image (0 = left / top). Relation questions.
///   X, Depth   its centre on the floor in half-metre units: X across (8 = straight ahead, smaller = left),
///              Depth along the camera axis. Depth and Distance questions.
/// Why whole numbers on coarse grids: a small word-level LLM reasons over them as tokens (compare two, look
/// up a distance), and the grids are fine enough that the facts decide almost every benchmark question
/// (measured on the default world's benchmark: relation 0.97, depth 1.00, distance 1.00 of the exact answers).
/// Each number is written as one token that says what it is — c3 (column), r5 (row), x9, d13 — and `Key`
/// (the colour, unique in the default world) names the object in facts and answers.
public sealed record ObjectFacts(string Color, ShapeKind Shape, int Col, int Row, int X, int Depth)
{
    public const int Grid = 8;
    /// Metres per unit of X and Depth.
    public const double Unit = 0.5;
    /// X of a point straight ahead of the camera (keeps X positive across the visible floor).
    public const int XOffset = 8;

    public string Name => $"{Color} {Shapes.Name(Shape)}";
    /// How facts and answers name the object: its colour when no other object of the scene shares it
    /// (SceneText.Facts sets this), else its full name.
    public string Key { get; init; } = "";

    public static ObjectFacts Of(SceneObject o, int imageSize)
    {
        int Cell(double centre) => Math.Clamp((int)(centre * Grid / imageSize), 0, Grid - 1);
        return new(o.Color, o.Shape, Cell(o.Box.CenterX), Cell(o.Box.CenterY),
                   (int)Math.Round(o.Position.X / Unit) + XOffset, (int)Math.Round(o.Depth / Unit)) { Key = o.Name };
    }

    /// Distance between two objects' (X, Depth) points, in the same half-metre units, rounded.
    public int DistanceTo(ObjectFacts other) =>
        (int)Math.Round(Math.Sqrt((X - other.X) * (X - other.X) + (Depth - other.Depth) * (Depth - other.Depth)));

    public string C => $"c{Col}";
    public string R => $"r{Row}";
    public string XT => $"x{X}";
    public string D => $"d{Depth}";
    /// "red cube c1 r5 x5 d9": every fact of the object.
    public string Text => $"{Name} {C} {R} {XT} {D}";
    public string ColText => $"{Key} {C}";
    public string RowText => $"{Key} {R}";
    public string DepthText => $"{Key} {D}";
    public string FloorText => $"{Key} {XT} {D}";
}

/// A scene in grounded words: the description the text oracle reads (and PT's caption).
/// Objects are listed left to right, then each kind of fact in its own section, every value right after the
/// object's key: "red cube, blue sphere. col: red c1, blue c6. row: red r5, blue r4. x: red x5, blue x12.
/// depth: red d9, blue d14." Why sections: a value token's owner is always the token before it, which a
/// small transformer binds with one previous-token head; facts grouped per object put each value a different
/// distance from its name, and a 4-layer model trained 4,000 steps still copied values of the wrong object.
public static class SceneText
{
    public static IReadOnlyList<ObjectFacts> Facts(IEnumerable<SceneObject> objects, int imageSize)
    {
        var list = objects.OrderBy(o => o.Box.CenterX).ThenBy(o => o.Box.CenterY).ToList();
        return list.Select(o => ObjectFacts.Of(o, imageSize) with { Key = list.Count(x => x.Color == o.Color) == 1 ? o.Color : o.Name }).ToList();
    }

    public static string Describe(IReadOnlyList<ObjectFacts> facts) =>
        string.Join(", ", facts.Select(f => f.Name)) + ". " +
        $"col: {Section(facts, f => f.C)}. row: {Section(facts, f => f.R)}. x: {Section(facts, f => f.XT)}. depth: {Section(facts, f => f.D)}.";

    static string Section(IReadOnlyList<ObjectFacts> facts, Func<ObjectFacts, string> value) => string.Join(", ", facts.Select(f => $"{f.Key} {value(f)}"));

    /// Per object, every fact, in the given order: "red cube c1 r5 x5 d9; blue sphere c6 r4 x12 d14". The answer
    /// to "Describe the image." (objects left to right; PT's caption) and to multi-object look-ups (any order):
    /// from the sections of the scene text each value is a look-up by key, from an image a perception.
    public static string FactsList(IEnumerable<ObjectFacts> facts) => string.Join("; ", facts.Select(f => f.Text));

    /// The text oracle's user turn: the scene in words, then the question.
    public static string Prompt(IReadOnlyList<ObjectFacts> facts, string question) => "scene: " + Describe(facts) + "\n" + question;

    public static ObjectFacts Find(IReadOnlyList<ObjectFacts> facts, string name) =>
        facts.FirstOrDefault(f => f.Name == name) ?? throw new ArgumentException($"SceneText: no object named '{name}' in the scene");
}
