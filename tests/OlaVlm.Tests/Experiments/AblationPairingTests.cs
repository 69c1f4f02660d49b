using OlaVlm.Experiments;

namespace OlaVlm.Tests.Experiments;

/// Ablations reported as paired differences to OLA-VLM at the same seed.
public class AblationPairingTests
{
    static AblationResult R(string group, string variant, int seed, double overall) =>
        new(group, variant, seed, new Dictionary<string, double> { ["Overall"] = overall, ["task/Depth"] = overall + 0.1 });

    [Fact]
    public void EachVariantIsPairedWithTheReferenceAtItsSeeds()
    {
        var runs = new List<AblationResult>
        {
            R("reference", "LLaVA-1.5", 1, 0.70), R("reference", "OLA-VLM", 1, 0.68), R("reference", "OLA-VLM", 2, 0.71), R("reference", "OLA-VLM", 3, 0.69),
            R("task tokens", "0", 1, 0.70), R("task tokens", "0", 2, 0.72), R("task tokens", "0", 3, 0.70),
        };
        var sweep = new AblationSweepResult(runs, [], 0, runs.Count);
        var d = sweep.Paired(["Overall"]).Single();
        Assert.Equal(("task tokens", "0", 3), (d.Group, d.Variant, d.Seeds));
        Assert.Equal(new[] { 0.02, 0.01, 0.01 }, d.Values.Select(v => Math.Round(v, 10)));
        Assert.Equal(0.04 / 3, d.Mean, 1e-10);
        Assert.True(d.Lower < d.Mean && d.Mean < d.Upper);
        Assert.Equal(2, sweep.Paired().Count);   // every metric the variant reported
        Assert.Throws<ArgumentException>(() => new AblationSweepResult([R("task tokens", "0", 1, 0.7)], [], 0, 1).Paired());
        Assert.Contains("| task tokens | 0 | Overall | 0.013 |", AblationReport.Markdown(sweep, "test", 60));
    }

    [Fact]
    public void ThePapersTaskTokenPointsAreZeroTheRatioAndTwiceIt()
    {
        var tokens = Ablations.Standard(ExperimentArms.MiniatureOla).Where(v => v.Group == "task tokens").Select(v => v.Name).ToList();
        Assert.Equal(new[] { "0", "1", "2" }, tokens);
    }

    [Fact]
    public void PartOfTheSweepKeepsTheReferencePairAndRejectsASelectorThatNamesNothing()
    {
        var all = Ablations.Standard(ExperimentArms.MiniatureOla);
        var part = Ablations.Only(all, ["Teachers", "layers : late {24,28}"]);
        Assert.Equal(new[] { "reference: LLaVA-1.5", "reference: OLA-VLM", "layers: late {24,28}", "teachers: depth", "teachers: seg",
                             "teachers: gen", "teachers: depth+seg", "teachers: gen+depth+seg" }, part.Select(v => v.Label));
        var e = Assert.Throws<ArgumentException>(() => Ablations.Only(all, ["lambda:0.7"]));
        Assert.Contains("'lambda:0.7' names no variant", e.Message);
        Assert.Contains("lambda: 1.0", e.Message);
    }
}
