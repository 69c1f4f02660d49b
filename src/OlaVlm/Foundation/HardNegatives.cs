using OlaVlm.World;

namespace OlaVlm.Foundation;

/// Hard-negative captions for the mini CLIP, after NegCLIP (Yuksekgonul et al., "When and why vision-language
/// models behave like bags-of-words", ICLR 2023): the caption of the same scene with ONE thing changed, added to
/// the batch as extra negatives of its image.
///
/// Why: the world's colours are unique within a scene, so among 31 in-batch captions the colours and a rough
/// position already pick the right one. A CLIP trained on in-batch negatives alone never needs an object's shape
/// or depth: found-8's patch features told shapes apart no better than a random tower's (linear probe 0.43 vs
/// 0.38, notebook 02), yet Count asks for shapes and Depth/Distance for depths. A caption that differs only in
/// one shape, in which object has which shape or in one depth can only be rejected by seeing it.
public static class HardNegatives
{
    public enum Change { ShapeReplaced, ShapesSwapped, DepthMoved }

    /// One hard negative of a scene's caption (SceneText.Describe of its objects): a change drawn from those
    /// the scene allows (a swap needs two objects of different shapes). Never equal to the true caption.
    public static (string Caption, Change Change) Make(IReadOnlyList<SceneObject> objects, int imageSize, Random rng)
    {
        if (objects.Count == 0) throw new ArgumentException("HardNegatives: a scene without objects has no caption to change");
        var facts = SceneText.Facts(objects, imageSize).ToList();
        // Not columns: captions list objects left to right, so a moved column could break that order and be
        // rejected from the text alone.
        var changes = new List<Change> { Change.ShapeReplaced, Change.DepthMoved };
        if (facts.Select(f => f.Shape).Distinct().Count() > 1) changes.Add(Change.ShapesSwapped);
        var change = changes[rng.Next(changes.Count)];
        int i = rng.Next(facts.Count);
        switch (change)
        {
            case Change.ShapeReplaced:
            {
                var others = Shapes.All.Where(s => s != facts[i].Shape).ToArray();
                facts[i] = WithShape(facts[i], others[rng.Next(others.Length)]);
                break;
            }
            case Change.ShapesSwapped:
            {
                // The binding test: the same shapes and colours, attached to the wrong objects.
                // With two shapes in the scene, every object has a partner of another shape.
                var js = Enumerable.Range(0, facts.Count).Where(j => facts[j].Shape != facts[i].Shape).ToArray();
                int k = js[rng.Next(js.Length)];
                var (si, sk) = (facts[i].Shape, facts[k].Shape);
                facts[i] = WithShape(facts[i], sk);
                facts[k] = WithShape(facts[k], si);
                break;
            }
            case Change.DepthMoved:
            {
                // 1–3 half-metre units nearer or farther (never below 0): a depth fact the image contradicts.
                int step = rng.Next(1, 4), d = facts[i].Depth;
                facts[i] = facts[i] with { Depth = d - step >= 0 && rng.Next(2) == 0 ? d - step : d + step };
                break;
            }
        }
        return (SceneText.Describe(facts), change);
    }

    /// A pool of `count` hard negatives per scene, seeded so a rebuilt pool is identical.
    public static List<string[]> Pool(IReadOnlyList<IReadOnlyList<SceneObject>> scenes, int imageSize, int count, int seed)
    {
        var rng = new Random(seed);
        return scenes.Select(objects => Enumerable.Range(0, count).Select(_ => Make(objects, imageSize, rng).Caption).ToArray()).ToList();
    }

    // A key that spells the shape ("red cube", used when a colour is not unique) changes with it.
    static ObjectFacts WithShape(ObjectFacts f, ShapeKind shape) =>
        f with { Shape = shape, Key = f.Key == f.Name ? $"{f.Color} {Shapes.Name(shape)}" : f.Key };
}
