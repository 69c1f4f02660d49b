namespace OlaVlm.World;

/// CV-Bench's four tasks. Count and Relation are its "2D" tasks, Depth and Distance its "3D" tasks.
public enum BenchTask { Count, Relation, Depth, Distance }

/// A multiple-choice question computed from a scene graph. `Answer` indexes `Choices`; `Mention` says which
/// mentioned object/word is correct, so builders can balance answers per question template.
public sealed record McQuestion(BenchTask Task, string Question, IReadOnlyList<string> Choices, int Answer, string BalanceKey)
{
    public string AnswerText => Choices[Answer];
    /// Object names in the order the question mentions them.
    public IReadOnlyList<string> Mentions { get; init; } = [];
    /// The shape a Count question counts (null for the other tasks).
    public ShapeKind? CountShape { get; init; }
    public McQuestion WithChoices(IReadOnlyList<string> choices) => this with { Choices = choices, Answer = IndexOf(choices, AnswerText) };
    static int IndexOf(IReadOnlyList<string> c, string s) { for (int i = 0; i < c.Count; i++) if (c[i] == s) return i; throw new ArgumentException($"answer '{s}' not among choices"); }
}

/// The world's questions and the margins that keep them unambiguous. All answers come from the object list:
/// 2D relations from the visible-pixel boxes, depth from camera-space depth of object centres, distance from
/// 3D distances between centres.
public static class Questions
{
    public const int MaxCount = 4;
    public static readonly string[] CountChoices = ["0", "1", "2", "3", "4"];
    /// Depth and distance differences below this (metres) are treated as ambiguous and never asked.
    public const double MetricMargin = 0.5;
    /// Box-centre offsets below this fraction of the image width are ambiguous for left/right/above/below.
    public const double RelationMarginFraction = 0.06;

    public static string TypeOf(BenchTask t) => t is BenchTask.Count or BenchTask.Relation ? "2D" : "3D";

    public static string CountQuestion(ShapeKind k) => $"How many {Shapes.Plural(k)} are in the image?";

    public static McQuestion? Count(Scene s, ShapeKind k)
    {
        int n = s.CountOf(k);
        if (n > MaxCount) return null;
        return new(BenchTask.Count, CountQuestion(k), CountChoices, n, $"{Shapes.Name(k)}:{n}") { CountShape = k };
    }

    /// Where is a located with respect to b? Horizontal (left/right) or vertical (above/below) in the image.
    public static McQuestion? Relation(Scene s, SceneObject a, SceneObject b, bool horizontal)
    {
        double margin = RelationMarginFraction * s.Width;
        double delta = horizontal ? a.Box.CenterX - b.Box.CenterX : a.Box.CenterY - b.Box.CenterY;
        if (Math.Abs(delta) < margin) return null;
        string[] choices = horizontal ? ["left", "right"] : ["above", "below"];
        int ans = delta < 0 ? 0 : 1;
        var q = $"Considering the relative positions of the {a.Name} and the {b.Name} in the image provided, " +
                $"where is the {a.Name} located with respect to the {b.Name}?";
        return new(BenchTask.Relation, q, choices, ans, choices[ans]) { Mentions = [a.Name, b.Name] };
    }

    /// Which of a, b is closer to the camera? Choices are listed in mention order.
    public static McQuestion? Depth(Scene s, SceneObject a, SceneObject b)
    {
        if (Math.Abs(a.Depth - b.Depth) < MetricMargin) return null;
        var q = $"Which object is closer to the camera taking this photo, the {a.Name} or the {b.Name}?";
        int ans = a.Depth < b.Depth ? 0 : 1;
        return new(BenchTask.Depth, q, [a.Name, b.Name], ans, ans == 0 ? "first" : "second") { Mentions = [a.Name, b.Name] };
    }

    /// Which of a, b is closer in 3D to the anchor?
    public static McQuestion? Distance(Scene s, SceneObject anchor, SceneObject a, SceneObject b)
    {
        double da = anchor.DistanceTo(a), db = anchor.DistanceTo(b);
        if (Math.Abs(da - db) < MetricMargin) return null;
        var q = $"Estimate the real-world distances between objects in this image. " +
                $"Which object is closer to the {anchor.Name}, the {a.Name} or the {b.Name}?";
        int ans = da < db ? 0 : 1;
        return new(BenchTask.Distance, q, [a.Name, b.Name], ans, ans == 0 ? "first" : "second") { Mentions = [anchor.Name, a.Name, b.Name] };
    }

    /// CV-Bench's prompt: question, the fixed instruction, then one "(A) choice" line per option.
    public static string Prompt(string question, IReadOnlyList<string> choices) =>
        question + " Select from the following choices." + string.Concat(choices.Select((c, i) => $"\n({Letter(i)}) {c}"));

    public static char Letter(int i) => (char)('A' + i);

    /// A random valid question of the given task for this scene (null when the scene has none).
    public static McQuestion? Sample(BenchTask task, Scene s, Rng rng)
    {
        var objs = s.Objects;
        for (int tries = 0; tries < 20; tries++)
        {
            McQuestion? q = task switch
            {
                // Mostly a shape that is present, so training counts are not dominated by zeros.
                BenchTask.Count => Count(s, rng.Next(4) == 0 ? rng.Pick(Shapes.All) : rng.Pick(objs).Shape),
                BenchTask.Relation when objs.Count >= 2 => Pair(rng, objs, (a, b) => Relation(s, a, b, rng.Next(2) == 0)),
                BenchTask.Depth when objs.Count >= 2 => Pair(rng, objs, (a, b) => Depth(s, a, b)),
                BenchTask.Distance when objs.Count >= 3 => Triple(rng, objs, (x, a, b) => Distance(s, x, a, b)),
                _ => null,
            };
            if (q != null) return q;
        }
        return null;
    }

    static McQuestion? Pair(Rng rng, IReadOnlyList<SceneObject> o, Func<SceneObject, SceneObject, McQuestion?> f)
    {
        int i = rng.Next(o.Count), j = rng.Next(o.Count - 1);
        if (j >= i) j++;
        return f(o[i], o[j]);
    }

    static McQuestion? Triple(Rng rng, IReadOnlyList<SceneObject> o, Func<SceneObject, SceneObject, SceneObject, McQuestion?> f)
    {
        var idx = Enumerable.Range(0, o.Count).ToList();
        rng.Shuffle(idx);
        return f(o[idx[0]], o[idx[1]], o[idx[2]]);
    }
}
