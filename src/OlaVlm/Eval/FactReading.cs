using System.Text.RegularExpressions;
using OlaVlm.World;

namespace OlaVlm.Eval;

/// The facts a reasoned reply restates before it concludes, checked against the scene. Relation, Depth and Distance
/// replies first copy each asked object's span ("blue c6 r3 x12 d15, yellow c1 r3 x3 d17, so right (A)"), so what an
/// image arm read from the pixels can be checked fact by fact: of the spans whose key names an object of the scene,
/// how often its column, row, X and depth are that object's. A text oracle copies them from the scene in words (all
/// near 1); an image arm whose look-up by colour does not reach the object's image tokens writes them near the blind
/// replies' rates, however consistent its comparison afterwards.
public sealed record FactReading(int Items, int Spans, int KeysFound, int ColumnRight, int RowRight, int XRight, int DepthRight)
{
    static readonly Regex Span = new(@"^(?<key>[a-z]+(?: [a-z]+)?) c(?<c>\d+) r(?<r>\d+) x(?<x>\d+) d(?<d>\d+)$", RegexOptions.CultureInvariant);

    /// Relation, Depth and Distance items of `items` with their scenes (`scenes`: the bench split's objects.json
    /// records, matched by image) and replies (in item order). An item whose image has no scene is an error naming it.
    public static FactReading Of(IReadOnlyList<CvBenchItem> items, IReadOnlyList<SceneRecord> scenes, IReadOnlyList<string> replies, int imageSize)
    {
        if (items.Count != replies.Count) throw new ArgumentException($"FactReading: {items.Count} items but {replies.Count} replies");
        var byImage = scenes.ToDictionary(s => s.Image);
        int n = 0, spans = 0, found = 0, col = 0, row = 0, x = 0, depth = 0;
        for (int i = 0; i < items.Count; i++)
        {
            var it = items[i];
            if (it.Task == "Count") continue;
            var scene = it.Image is { } img && byImage.TryGetValue(img, out var s) ? s
                : throw new InvalidDataException($"FactReading: item {it.Idx} (image '{it.Image}') has no scene among the {scenes.Count} given");
            var facts = SceneText.Facts(scene.Objects, imageSize);
            n++;
            // The spans come first, comma-separated, up to Distance's "; distances" or the conclusion's ", so".
            foreach (var part in replies[i].Split(';')[0].Split(','))
            {
                var m = Span.Match(part.Trim());
                if (!m.Success) continue;
                spans++;
                var f = facts.FirstOrDefault(o => o.Key == m.Groups["key"].Value);
                if (f is null) continue;
                found++;
                int Num(string g) => int.Parse(m.Groups[g].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (Num("c") == f.Col) col++;
                if (Num("r") == f.Row) row++;
                if (Num("x") == f.X) x++;
                if (Num("d") == f.Depth) depth++;
            }
        }
        return new FactReading(n, spans, found, col, row, x, depth);
    }

    double Share(int k) => KeysFound == 0 ? 0 : k / (double)KeysFound;
    public double KeysFoundShare => Spans == 0 ? 0 : KeysFound / (double)Spans;
    public double ColumnShare => Share(ColumnRight);
    public double RowShare => Share(RowRight);
    public double XShare => Share(XRight);
    public double DepthShare => Share(DepthRight);
}
