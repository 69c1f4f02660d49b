using OlaVlm.Eval;
using OlaVlm.Tests.Foundation;
using OlaVlm.World;

namespace OlaVlm.Tests.Eval;

public class FactReadingTests
{
    static (IReadOnlyList<CvBenchItem> Items, IReadOnlyList<SceneRecord> Scenes, int Size) Bench()
    {
        var world = FoundationFixture.World;
        return (CvBench.Load(world.BenchJsonl), world.Scenes("bench"), world.Manifest.Config.ImageSize);
    }

    static IReadOnlyList<ObjectFacts> Facts(CvBenchItem it, IReadOnlyList<SceneRecord> scenes, int size) =>
        SceneText.Facts(scenes.Single(s => s.Image == it.Image).Objects, size);

    [Fact]
    public void Spans_copied_from_the_scene_are_right_and_a_wrong_fact_is_caught_alone()
    {
        var (items, scenes, size) = Bench();
        var replies = items.Select(it => it.Task == "Count" ? "(A)"
            : string.Join(", ", Facts(it, scenes, size).Take(2).Select(f => f.Span)) + "; 3, so left (A)").ToList();
        var r = FactReading.Of(items, scenes, replies, size);
        Assert.Equal(items.Count(i => i.Task != "Count"), r.Items);
        Assert.True(r.Spans > 0, "the tiny bench has Relation, Depth or Distance items");
        Assert.Equal((r.Spans, r.Spans, r.Spans, r.Spans, r.Spans), (r.KeysFound, r.ColumnRight, r.RowRight, r.XRight, r.DepthRight));

        // One item's first span with its column moved: only the column of that one span is wrong.
        var it = items.First(i => i.Task != "Count");
        var f = Facts(it, scenes, size)[0];
        var moved = FactReading.Of([it], scenes, [$"{f.Key} c{(f.Col + 1) % ObjectFacts.Grid} r{f.Row} x{f.X} d{f.Depth}, so left (A)"], size);
        Assert.Equal((1, 1, 0, 1, 1, 1), (moved.Spans, moved.KeysFound, moved.ColumnRight, moved.RowRight, moved.XRight, moved.DepthRight));
        // A key that names no object of the scene is a span, not a found key; a reply without spans adds nothing.
        var ghost = FactReading.Of([it, it], scenes, ["nosuchcolour c1 r2 x3 d4, so left (A)", "(B)"], size);
        Assert.Equal((2, 1, 0), (ghost.Items, ghost.Spans, ghost.KeysFound));
    }

    [Fact]
    public void An_item_without_a_scene_is_named()
    {
        var (items, _, size) = Bench();
        var it = items.First(i => i.Task != "Count");
        var e = Assert.Throws<InvalidDataException>(() => FactReading.Of([it], [], ["(A)"], size));
        Assert.Contains(it.Image!, e.Message);
        Assert.Throws<ArgumentException>(() => FactReading.Of([it], [], [], size));
    }
}
