namespace OlaVlm.World;

/// One-hop grounding questions: each asks about ONE named object (or the distance between two), so its
/// answer is a single look-up — in the scene text for the LLM, in the image for LLaVA. They come first in
/// the curriculum: measured, two-object comparisons give a gradient no signal until the model
/// can already look objects up, and that learning these look-ups first breaks that plateau. Their answers
/// are exactly the fragments the benchmark rationales (Rationale) are built from.
public static class Grounding
{
    /// Depth (half-metre units) up to which an object counts as "near" (6 m).
    public const int NearDepth = 12;

    /// A random one-hop question about this scene and its answer (spans: ObjectFacts.Span).
    public static (string Question, string Answer) Sample(IReadOnlyList<ObjectFacts> facts, Rng rng)
    {
        var o = rng.Pick(facts);
        switch (rng.Next(11))
        {
            case 0 or 1: return ($"Where is the {o.Name}?", o.Span);
            case 2: return ($"Is the {o.Name} in the left or the right half of the image?", $"{o.Span}, so {(o.Col < ObjectFacts.Grid / 2 ? "left" : "right")}");
            case 3: return ($"Is the {o.Name} in the upper or the lower half of the image?", $"{o.Span}, so {(o.Row < ObjectFacts.Grid / 2 ? "upper" : "lower")}");
            case 4: return ($"Is the {o.Name} near or far?", $"{o.Span}, so {(o.Depth <= NearDepth ? "near" : "far")}");
            case 5 or 6 when facts.Count >= 2:
            {
                // Several objects in a random order: one look-up each.
                var some = facts.ToList();
                rng.Shuffle(some);
                some = some.Take(rng.Next(2, some.Count + 1)).ToList();
                return ($"Where are the {string.Join(", ", some.Take(some.Count - 1).Select(f => f.Name))} and the {some[^1].Name}?",
                        string.Join(", ", some.Select(f => f.Span)));
            }
            case 7 when facts.Count >= 2:
            {
                // The step toward Distance: how far apart are two named objects (same units as the facts).
                var b = rng.Pick(facts.Where(f => f != o).ToList());
                return ($"How far is the {b.Name} from the {o.Name}?", $"{o.Span}, {b.Span}; {o.DistanceTo(b)}");
            }
            case 8:
            {
                // The step toward Count: walk the objects left to right, keeping a running tally.
                var k = rng.Next(3) == 0 ? rng.Pick(Shapes.All) : o.Shape;
                return ($"Count the {Shapes.Plural(k)} one object at a time.", $"{Tally(facts, k)}; {facts.Count(f => f.Shape == k)}");
            }
            case 9:
            {
                // The step toward Count's letter: find a number among shuffled number choices.
                var choices = Questions.CountChoices.ToList();
                rng.Shuffle(choices);
                int at = rng.Next(choices.Count);
                return (Questions.Prompt($"Which choice is {choices[at]}?", choices), ChoiceWalk(choices, at));
            }
            default:
                return facts.Count(f => f.Color == o.Color) == 1 ? ($"What shape is the {o.Color} object?", o.Name) : ($"Where is the {o.Name}?", o.Span);
        }
    }

    /// "cube red 1, sphere blue 1, cube green 2": every object in scene order (left to right, as the scene text
    /// and the object tokens list them), each as its shape and key, then how many of shape `k` so far.
    /// Why a walk over every object rather than a list of the matching ones ("cubes: red, green"): the found-5
    /// text oracle, trained on that list, dropped or repeated an object in half its Count replies, because
    /// "the next cube after the last one I named" skips an unknown number of objects. Each step of the walk is
    /// local: the next object is the one after the object just named (the copy the describe task trains), and
    /// the tally is the previous tally, plus one when this object's shape is `k`. Measured (found-6): the walk's
    /// count is right far more often, but the letter then often misses the count among the shuffled number
    /// choices, since the count's digit also stands in the walk (found-8 walks the choices: ChoiceWalk). A tally in
    /// words (found-7, same recipe) did not leave the two-object plateau within its 6,000 steps; README, "Where the
    /// miniature stands".
    public static string Tally(IReadOnlyList<ObjectFacts> facts, ShapeKind k)
    {
        int n = 0;
        return string.Join(", ", facts.Select(f => $"{Shapes.Name(f.Shape)} {f.Key} {(f.Shape == k ? ++n : n)}"));
    }

    /// "A 3, B 0, C 2, so (C)": the choices in display order, each as its bare letter and text, up to the one at
    /// `at`, then its letter. Why: found-6's Count replies stated the right count on every item but then named
    /// the right letter only 31% of the time: finding a digit among shuffled choices in one step meant matching
    /// it in the prompt while the same digit also stood in the tally. Walking the choices makes each step local:
    /// the next bare letter follows the last one, its text is the fact after "(B)" in the prompt (the look-up
    /// the curriculum teaches first), the walk stops when that text equals the stated count, and the final
    /// letter is the bare letter just written. Bare letters keep the walk free of "(X)", which the reference
    /// parser would read as the answer.
    public static string ChoiceWalk(IReadOnlyList<string> choices, int at) =>
        string.Join(", ", choices.Take(at + 1).Select((c, i) => $"{Questions.Letter(i)} {c}")) + $", so ({Questions.Letter(at)})";
}
