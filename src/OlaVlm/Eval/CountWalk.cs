using OlaVlm.World;

namespace OlaVlm.Eval;

/// Count's reasoned reply taken apart step by step. Its walk lists the objects left to right, each as shape, key and
/// running tally ("cube red 1, sphere blue 1, cube green 2; 2; A 3, B 0, C 2, so (C)"), so each step of a wrong
/// count can be checked on its own against the scene:
///   LengthRight     the walk lists as many entries as the scene has objects;
///   KeysFound       entries whose key names an object of the scene (the rest name objects that are not there);
///   ShapesRight     of those, entries whose shape is the named object's (perception of shape);
///   TallyFollows    replies whose every tally is the count of the asked shape among the walk's own entries so far,
///                   and whose stated count is the last tally (reasoning over what the reply itself says).
/// A text oracle's walk copies its shapes from the scene in words, so all four are near 1; where an image arm's shapes
/// are wrong but its tally follows them, the count fails on perception; where the tally does not follow even its own
/// list, the tally was not computed from the words the reply wrote.
public sealed record CountWalk(int Items, int LengthRight, int Entries, int KeysFound, int ShapesRight, int TallyFollows)
{
    /// Count items of `items` with their scenes' objects (`scenes`: the bench split's objects.json records, matched
    /// by image) and replies (in item order). An item whose image has no scene is an error naming it.
    public static CountWalk Of(IReadOnlyList<CvBenchItem> items, IReadOnlyList<SceneRecord> scenes, IReadOnlyList<string> replies, int imageSize)
    {
        if (items.Count != replies.Count) throw new ArgumentException($"CountWalk: {items.Count} items but {replies.Count} replies");
        var byImage = scenes.ToDictionary(s => s.Image);
        int n = 0, lengthRight = 0, entries = 0, keysFound = 0, shapesRight = 0, tallyFollows = 0;
        for (int i = 0; i < items.Count; i++)
        {
            var it = items[i];
            if (it.Task != "Count") continue;
            var scene = it.Image is { } img && byImage.TryGetValue(img, out var s) ? s
                : throw new InvalidDataException($"CountWalk: item {it.Idx} (image '{it.Image}') has no scene among the {scenes.Count} given");
            var asked = Shapes.All.Where(k => it.Question.Contains(" " + Shapes.Plural(k) + " ")).Cast<ShapeKind?>().FirstOrDefault()
                ?? throw new InvalidDataException($"CountWalk: item {it.Idx} asks for no shape the world knows: \"{it.Question}\"");
            var facts = SceneText.Facts(scene.Objects, imageSize);
            var parts = replies[i].Split(';');
            var walk = Walk(parts[0]);
            n++;
            if (walk.Count == facts.Count) lengthRight++;
            int tally = 0;
            bool follows = walk.Count > 0;
            foreach (var (shape, key, said) in walk)
            {
                entries++;
                var f = facts.FirstOrDefault(x => x.Key == key);
                if (f is not null) { keysFound++; if (Shapes.Name(f.Shape) == shape) shapesRight++; }
                if (shape == Shapes.Name(asked)) tally++;
                if (said != tally.ToString()) follows = false;
            }
            if (follows && (parts.Length < 2 || parts[1].Trim() != tally.ToString())) follows = false;
            if (follows) tallyFollows++;
        }
        return new CountWalk(n, lengthRight, entries, keysFound, shapesRight, tallyFollows);
    }

    /// The walk's entries "shape key tally" (key: one or more words); anything else ends the walk.
    static List<(string Shape, string Key, string Tally)> Walk(string walk)
    {
        var list = new List<(string, string, string)>();
        foreach (var e in walk.Split(','))
        {
            var w = e.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (w.Length < 3) break;
            list.Add((w[0], string.Join(' ', w[1..^1]), w[^1]));
        }
        return list;
    }

    public double LengthRightShare => Items == 0 ? 0 : LengthRight / (double)Items;
    public double KeysFoundShare => Entries == 0 ? 0 : KeysFound / (double)Entries;
    public double ShapesRightShare => KeysFound == 0 ? 0 : ShapesRight / (double)KeysFound;
    public double TallyFollowsShare => Items == 0 ? 0 : TallyFollows / (double)Items;
}
