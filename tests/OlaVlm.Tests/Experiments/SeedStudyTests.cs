using OlaVlm.Eval;
using OlaVlm.Experiments;

namespace OlaVlm.Tests.Experiments;

/// The seed study's arithmetic on made-up arms: plateau verdicts by the fixed criterion, plateau rates with their
/// Wilson interval, paired differences over every seed and over the seeds where neither arm plateaued.
public class SeedStudyTests
{
    static SeedArm Arm(int seed, string arm, double overall, double column) =>
        new(seed, arm, overall, overall - 0.4, overall + 0.2, overall + 0.2, overall + 0.1, column, 1.0, Plateau.Of(column, 1.0).On);

    [Fact]
    public void PlateauIsJudgedByTheColumnShareAlone()
    {
        Assert.True(Plateau.Of(0.22, 0.9).On);            // on the plateau, whatever the loss says
        Assert.False(Plateau.Of(0.75, 1.6).On);
        Assert.True(Plateau.Of(double.NaN, null).On);     // no spans read at all counts as on it
        Assert.Equal(0.5, Plateau.ColumnBar);
    }

    [Fact]
    public void PtLossAveragesTheLastFiftyLoggedSteps()
    {
        var rows = Enumerable.Range(1, 100).Select(s => (IReadOnlyDictionary<string, double>)new Dictionary<string, double> { ["step"] = s, ["ntp"] = s <= 50 ? 3.0 : 1.0 }).ToList();
        Assert.Equal(1.0, Plateau.PtLoss(rows)!.Value, 1e-12);
        Assert.Null(Plateau.PtLoss([]));
    }

    [Fact]
    public void SummaryCountsPlateausAndPairsTheSeeds()
    {
        string L = ExperimentArms.BaselineName, O = ExperimentArms.OlaName;
        var arms = new List<SeedArm>
        {
            Arm(1, L, 0.70, 0.75), Arm(1, O, 0.72, 0.76),
            Arm(2, L, 0.68, 0.74), Arm(2, O, 0.44, 0.22),   // OLA-VLM on the plateau at seed 2
            Arm(3, L, 0.71, 0.76), Arm(3, O, 0.70, 0.75),
        };
        var s = SeedStudy.Summarise("test", arms, 1);
        Assert.Equal(0, s.Plateaus.Single(p => p.Arm == L).On);
        var ola = s.Plateaus.Single(p => p.Arm == O);
        Assert.Equal((3, 1), (ola.Seeds, ola.On));
        Assert.InRange(ola.Lower, 0.0, 1.0 / 3);
        Assert.InRange(ola.Upper, 1.0 / 3, 1.0);
        var all = s.Differences.Single(d => d.Metric == "Overall");
        Assert.Equal(new[] { 0.02, -0.24, -0.01 }, all.Values.Select(v => Math.Round(v, 10)));
        Assert.InRange(all.Lower, -1, all.Mean);
        var off = s.DifferencesOffPlateau.Single(d => d.Metric == "Overall");
        Assert.Equal(2, off.Seeds);   // seed 2 left out
        Assert.Equal((0.02 - 0.01) / 2, off.Mean, 1e-10);
        Assert.Contains("| 2 | OLA-VLM | 0.440 |", SeedStudyReport.Markdown(s));
    }

    [Fact]
    public void AStudyWhoseEverySeedPlateausHasNoOffPlateauDifferences()
    {
        var arms = new List<SeedArm> { Arm(1, ExperimentArms.BaselineName, 0.5, 0.2), Arm(1, ExperimentArms.OlaName, 0.45, 0.3) };
        var s = SeedStudy.Summarise("all on", arms, 1);
        Assert.Empty(s.DifferencesOffPlateau);
        Assert.Single(s.Differences, d => d.Metric == "Overall");
        Assert.DoesNotContain("neither arm plateaued", SeedStudyReport.Markdown(s));
    }

    [Fact]
    public void TheReportSaysWhichPtStartWentOn()
    {
        string L = ExperimentArms.BaselineName, O = ExperimentArms.OlaName;
        var arms = new List<SeedArm>
        {
            Arm(1, L, 0.70, 0.75) with { PtStartsTried = 1, PtStart = 0 }, Arm(1, O, 0.72, 0.76) with { PtStartsTried = 2, PtStart = 1 },
        };
        var md = SeedStudyReport.Markdown(SeedStudy.Summarise("restarts", arms, 1));
        Assert.Contains("| 0 (of 1) |", md);
        Assert.Contains("| 1 (of 2) |", md);
        Assert.Contains("1 of 2 runs tried more than one start; 1 went on from another", md);
        // A study written before the rule existed has no such record: n/a, and no restart line.
        var old = SeedStudyReport.Markdown(SeedStudy.Summarise("before", [Arm(1, L, 0.7, 0.75), Arm(1, O, 0.7, 0.75)], 1));
        Assert.Contains("| n/a | no |", old);
        Assert.DoesNotContain("tried more than one start", old);
    }

    [Fact]
    public void TrainingTimeIsReadFromTheStepLog()
    {
        var log = new List<IReadOnlyDictionary<string, double>>
        {
            new Dictionary<string, double> { ["step"] = 50, ["sec_per_step"] = 0.2 },
            new Dictionary<string, double> { ["step"] = 100, ["sec_per_step"] = 0.4 },
        };
        Assert.Equal(30.0, SeedArm.StageSeconds(log)!.Value, 1e-9);
        Assert.Null(SeedArm.StageSeconds([]));
    }

    [Fact]
    public void AStudyRoundTripsThroughItsJson()
    {
        var arms = new List<SeedArm> { Arm(1, ExperimentArms.BaselineName, 0.7, 0.7), Arm(1, ExperimentArms.OlaName, 0.6, 0.3) };
        var dir = Path.Combine(Path.GetTempPath(), "ola-seed-study-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var s = SeedStudy.Summarise("round trip", arms, 12.5);
        s.Write(dir);
        var back = SeedStudy.ReadIfWritten(dir)!;
        Assert.Equal(s.Arms, back.Arms);
        Assert.Equal(s.Plateaus, back.Plateaus);
        Assert.Equal(s.Differences.Select(d => d.Mean), back.Differences.Select(d => d.Mean));
        File.WriteAllText(Path.Combine(dir, "seed-study.json"), "{ not json");
        var e = Assert.Throws<InvalidDataException>(() => SeedStudy.ReadIfWritten(dir));
        Assert.Contains("seed-study.json", e.Message);
        Assert.Null(SeedStudy.ReadIfWritten(Path.Combine(dir, "none")));
    }

    [Fact]
    public void IntervalsStayInsideWhatTheMetricCanBe()
    {
        var acc = BenchEvaluation.Row("m", "Overall", [0.98, 0.4, 0.99]);
        Assert.Equal(1.0, acc.Upper);
        Assert.True(acc.Lower >= 0);
        var diff = BenchEvaluation.Difference("d", "Overall", [-0.9, 0.2, -0.95]);
        Assert.Equal(-1.0, diff.Lower);
        Assert.True(diff.Upper <= 1);
        var (lo, _) = Ladder.Wilson(0, 227);
        Assert.Equal(0.0, lo);
    }
}
