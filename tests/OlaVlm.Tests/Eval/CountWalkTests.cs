using OlaVlm.Eval;
using OlaVlm.Tests.Foundation;
using OlaVlm.World;

namespace OlaVlm.Tests.Eval;

public class CountWalkTests
{
    static (IReadOnlyList<CvBenchItem> Items, IReadOnlyList<SceneRecord> Scenes, int Size) Bench()
    {
        var world = FoundationFixture.World;
        return (CvBench.Load(world.BenchJsonl), world.Scenes("bench"), world.Manifest.Config.ImageSize);
    }

    static ShapeKind Asked(CvBenchItem it) => Shapes.All.Single(k => it.Question.Contains(" " + Shapes.Plural(k) + " "));

    // The reply the world trains: every object with its tally, the count, a choice walk.
    static string TrueReply(CvBenchItem it, IReadOnlyList<ObjectFacts> facts) =>
        $"{Grounding.Tally(facts, Asked(it))}; {facts.Count(f => f.Shape == Asked(it))}; A 1, so (A)";

    [Fact]
    public void The_worlds_own_walks_are_right_at_every_step()
    {
        var (items, scenes, size) = Bench();
        var byImage = scenes.ToDictionary(s => s.Image);
        var replies = items.Select(it => it.Task == "Count" ? TrueReply(it, SceneText.Facts(byImage[it.Image!].Objects, size)) : "(A)").ToList();
        var w = CountWalk.Of(items, scenes, replies, size);
        Assert.True(w.Items > 0, "the tiny bench has Count items");
        Assert.Equal(w.Items, w.LengthRight);
        Assert.Equal(w.Entries, w.KeysFound);
        Assert.Equal(w.KeysFound, w.ShapesRight);
        Assert.Equal(w.Items, w.TallyFollows);
    }

    [Fact]
    public void A_wrong_shape_with_a_consistent_tally_is_perception_and_a_tally_that_ignores_the_list_is_not()
    {
        var (items, scenes, size) = Bench();
        var it = items.First(i => i.Task == "Count");
        var facts = SceneText.Facts(scenes.Single(s => s.Image == it.Image).Objects, size);
        var asked = Asked(it);
        // The first object seen as the asked shape when it is not (or as another shape when it is), tally recomputed.
        var wrong = facts.Select((f, i) => i == 0 ? f with { Shape = f.Shape == asked ? Shapes.All.First(k => k != asked) : asked } : f).ToList();
        int n = 0;
        var walk = string.Join(", ", wrong.Select(f => $"{Shapes.Name(f.Shape)} {f.Key} {(f.Shape == asked ? ++n : n)}"));
        var perception = CountWalk.Of([it], scenes, [$"{walk}; {n}; A 1, so (A)"], size);
        Assert.Equal(1, perception.TallyFollows);
        Assert.Equal(facts.Count - 1, perception.ShapesRight);
        // The true shapes but a tally that does not count them.
        var tally = string.Join(", ", facts.Select(f => $"{Shapes.Name(f.Shape)} {f.Key} 0"));
        var broken = CountWalk.Of([it], scenes, [$"{tally}; 0; A 1, so (A)"], size);
        Assert.Equal(facts.Count(f => f.Shape == asked) == 0 ? 1 : 0, broken.TallyFollows);
        Assert.Equal(facts.Count, broken.ShapesRight);
        // A key that names no object of the scene is counted as listed, not found.
        var ghost = CountWalk.Of([it], scenes, [$"cube nosuchcolour 0; 0; A 1, so (A)"], size);
        Assert.Equal((1, 0), (ghost.Entries, ghost.KeysFound));
    }

    [Fact]
    public void An_item_without_a_scene_is_named()
    {
        var (items, scenes, size) = Bench();
        var it = items.First(i => i.Task == "Count");
        var ex = Assert.Throws<InvalidDataException>(() => CountWalk.Of([it], scenes.Where(s => s.Image != it.Image).ToList(), ["x"], size));
        Assert.Contains(it.Image!, ex.Message);
    }
}
