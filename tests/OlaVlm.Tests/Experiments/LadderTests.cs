using OlaVlm.Eval;
using OlaVlm.Experiments;
using OlaVlm.World;

namespace OlaVlm.Tests.Experiments;

public class LadderTests
{
    static CvBenchItem Item(int i, string task, int choices) =>
        new(i, task is "Count" or "Relation" ? "2D" : "3D", task, null, "q", Enumerable.Range(0, choices).Select(c => $"c{c}").ToList(), "(A)", "p", "img.png",
            task is "Count" or "Relation" ? "ADE20K" : "Omni3D");

    static readonly List<CvBenchItem> Items =
        Enumerable.Range(0, 40).Select(i => Item(i, (i % 4) switch { 0 => "Count", 1 => "Relation", 2 => "Depth", _ => "Distance" }, i % 4 == 0 ? 4 : 2)).ToList();

    /// A score whose replies are right on items where `right(i)` holds, "(B)" (wrong) elsewhere.
    static CvBenchScore Score(Func<int, bool> right) =>
        CvBenchScorer.Score(Items, Items.Select(it => right(it.Idx) ? "(A)" : "(B)").ToList());

    [Fact]
    public void BarsAreJudgedFromTheMeasurements()
    {
        var runs = new List<BenchRun>();
        foreach (var seed in new[] { 1, 2, 3 })
        {
            runs.Add(new(ExperimentArms.BaselineName + " (blind)", seed, Score(i => (i + seed) % 2 == 0)));   // about chance
            runs.Add(new(ExperimentArms.BaselineName, seed, Score(i => i % 10 != seed)));                     // ~0.9
            runs.Add(new(ExperimentArms.OlaName, seed, Score(i => i % 5 != 0)));
        }
        var oracle = Score(_ => true);
        var ladder = Ladder.Build(runs, oracle, Items);
        var chance = Ladder.Chance(Items);
        Assert.Equal(0.25, chance["task/Count"], 1e-6);
        Assert.Equal(0.5, chance["task/Depth"], 1e-6);

        var o = ladder.Single(r => r.Rung == Ladder.Oracle && r.Metric == "task/Count");
        Assert.Equal(1.0, o.Mean);
        Assert.True(o.Met);
        Assert.True(o.Lower < 1.0);   // Wilson: 10 of 10 still leaves room below 1
        Assert.All(ladder.Where(r => r.Rung == Ladder.Ola), r => Assert.Null(r.Met));
        // LLaVA (~0.9 per seed): above chance, below the perfect oracle, overall ≥ 0.60.
        Assert.All(ladder.Where(r => r.Rung == Ladder.Llava), r => Assert.True(r.Met, r.Metric));
        // Against a weak oracle the same LLaVA is not "below the oracle", and the oracle misses its bar.
        var weak = Ladder.Build(runs, Score(i => i % 3 == 0), Items);
        Assert.All(weak.Where(r => r.Rung == Ladder.Llava), r => Assert.False(r.Met, r.Metric));
        Assert.Contains(weak, r => r.Rung == Ladder.Oracle && r.Met == false);
        var d = ladder.Single(r => r.Rung == Ladder.Difference && r.Metric == "Overall");
        Assert.Equal(3, d.Seeds);
        Assert.Contains("| text oracle (scene in words) | task/Count | 1.000 |", Ladder.Markdown(ladder));
    }

    [Fact]
    public void SeededIntervalsHoldTheItemsUncertaintyAsWellAsTheSeeds()
    {
        // Three seeds that agree to the item (0.3 on Count's 10 items, 4 choices): their t-interval has no width,
        // so alone it would call 0.3 "not chance" (0.25); 10 items cannot tell 0.3 from 0.25.
        var runs = new List<BenchRun>();
        foreach (var seed in new[] { 1, 2, 3 })
        {
            runs.Add(new(ExperimentArms.BaselineName + " (blind)", seed, Score(i => i % 4 == 0 && i < 12)));
            runs.Add(new(ExperimentArms.BaselineName, seed, Score(i => i % 4 == 0 && i < 12)));
            runs.Add(new(ExperimentArms.OlaName, seed, Score(i => i % 4 == 0 && i < 12)));
        }
        var ladder = Ladder.Build(runs, Score(_ => true), Items);
        var blind = ladder.Single(r => r.Rung == Ladder.Blind && r.Metric == "task/Count");
        Assert.Equal(0.3, blind.Mean, 1e-9);
        var (lo, hi) = Ladder.Wilson(3, 10);
        Assert.Equal(lo, blind.Lower, 1e-9);
        Assert.Equal(hi, blind.Upper, 1e-9);
        Assert.True(blind.Met);
        Assert.Contains("Wilson over 10 items", blind.Interval);
        Assert.False(ladder.Single(r => r.Rung == Ladder.Llava && r.Metric == "task/Count").Met); // nor "above chance"
    }

    [Fact]
    public void WilsonIntervalMatchesTheFormula()
    {
        var (lo, hi) = Ladder.Wilson(45, 50);
        Assert.Equal(0.7864, lo, 1e-4);
        Assert.Equal(0.9565, hi, 1e-4);
    }

    [Fact]
    public void MissingArmIsAnErrorNamingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => Ladder.Build([], Score(_ => true), Items));
        Assert.Contains(ExperimentArms.BaselineName, e.Message);
    }
}
