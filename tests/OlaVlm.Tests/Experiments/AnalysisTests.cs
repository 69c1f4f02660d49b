using OlaVlm.Eval;
using OlaVlm.Experiments;
using OlaVlm.Ola;

namespace OlaVlm.Tests.Experiments;

public class AnalysisTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "ola-analysis-" + Guid.NewGuid().ToString("N"));

    public void Dispose() { if (Directory.Exists(dir)) Directory.Delete(dir, true); }

    /// A score whose COCO and Omni3D accuracies are k/4 and j/4.
    static CvBenchScore Score(int k, int j) => CvBenchScorer.Score(Enumerable.Range(0, 8).Select(i =>
        new CvBenchAnswer($"{i}", i < 4 ? "Count" : "Depth", i < 4 ? "COCO" : "Omni3D", "(A)", (i < 4 ? i < k : i - 4 < j) ? "(A)" : "(B)")));

    static LayerProbingResult Probing(string model, double[] depth, double[] gen) =>
        new(model, model + "-hash", [new ProbeCurve("depth", "d", [1, 2, 3], depth, 0), new ProbeCurve("gen", "g", [1, 2, 3], gen, 0)]);

    [Fact]
    public void CorrelationUsesThePerTeacherSummaryAgainstTheMetric()
    {
        var measures = new List<CheckpointMeasure>
        {
            new("baseline", 0, Probing("b0", [0.1, 0.5, 0.3], [0.2, 0.2, 0.2]), Score(1, 2)),
            new("baseline", 1, Probing("b1", [0.2, 0.4, 0.3], [0.3, 0.1, 0.2]), Score(2, 2)),
            new("ola", 0, Probing("o0", [0.3, 0.7, 0.2], [0.1, 0.1, 0.4]), Score(3, 3)),
            new("ola", 1, Probing("o1", [0.4, 0.6, 0.5], [0.5, 0.1, 0.3]), Score(4, 1)),
        };
        var mean = ProbeCorrelation.Compute(measures);
        var depth = mean.Single(c => c.Teacher == "depth");
        var x = measures.Select(m => m.Probing.Curve("depth").Cosines.Average()).ToList();
        var y = measures.Select(m => m.Bench.Overall).ToList();
        Assert.Equal(Stats.Pearson(x, y).R, depth.Pearson!.R, 1e-12);
        Assert.Equal(y, depth.Points.Select(p => p.Accuracy));

        var best = ProbeCorrelation.Compute(measures, ProbeSummary.BestLayer, "2D").Single(c => c.Teacher == "gen");
        Assert.Equal([0.2, 0.3, 0.4, 0.5], best.Points.Select(p => p.ProbeScore));
        Assert.Equal(Stats.Pearson([0.2, 0.3, 0.4, 0.5], measures.Select(m => m.Bench.Accuracy2D).ToList()).R, best.Pearson!.R, 1e-12);

        var two = ProbeCorrelation.Compute(measures.Take(2).ToList());
        Assert.All(two, c => { Assert.Null(c.Pearson); Assert.Contains("only 2", c.Note); });
        Assert.Throws<KeyNotFoundException>(() => ProbeCorrelation.Compute(measures, metric: "task/Nope"));
        Assert.Contains("Pearson r", OlaVlm.Notebook.PlotlyHtml.StandalonePage(depth.Chart(), "c"));
    }

    [Fact]
    public void AblationSweepCachesByConfigAndSeedAndAggregatesOverSeeds()
    {
        var variants = Ablations.Standard(OlaConfig.Miniature);
        Assert.All(variants, v => v.Config?.Validate());
        Assert.Equal(["0", "8", "16"], variants.Where(v => v.Group == "task tokens").Select(v => v.Name));   // 0, the config's own, twice it
        Assert.Equal(2, variants.Single(v => v.Label == "layers: late {24,28}").Config!.LayersFor(OlaTask.Depth, 4).Count);
        var distinct = variants.Select(v => v.Config is null ? "baseline" : System.Text.Json.JsonSerializer.Serialize(v.Config)).Distinct().Count();
        Assert.True(distinct < variants.Count);                          // the default config appears under several groups

        int calls = 0;
        AblationResult Runner(AblationVariant v, int seed)
        {
            calls++;
            var tokens = v.Config?.NumTaskTokens ?? -1;
            return new AblationResult(v.Group, v.Name, seed, new Dictionary<string, double> { ["Overall"] = 0.5 + 0.01 * tokens + 0.001 * seed, ["calls"] = calls });
        }
        int[] seeds = [0, 1, 2];
        var first = Ablations.Run(variants, seeds, Runner, "tag-1", dir);
        Assert.Equal(distinct * seeds.Length, calls);
        Assert.Equal(distinct * seeds.Length, first.Computed);
        Assert.Equal(variants.Count * seeds.Length - first.Computed, first.Reused);

        var second = Ablations.Run(variants, seeds, Runner, "tag-1", dir);
        Assert.Equal(distinct * seeds.Length, calls);                    // all from the cache
        Assert.Equal(0, second.Computed);
        Assert.Equal(first.Runs.Select(r => (r.Group, r.Variant, r.Seed, r.Metrics["Overall"])), second.Runs.Select(r => (r.Group, r.Variant, r.Seed, r.Metrics["Overall"])));

        var row = second.Rows("Overall").Single(r => r.Group == "task tokens" && r.Variant == "16");
        var ci = Stats.TInterval([0.66, 0.661, 0.662]);
        Assert.Equal(ci.Mean, row.Mean, 1e-12);
        Assert.Equal(ci.HalfWidth, row.HalfWidth, 1e-9);
        Assert.Equal(3, row.Seeds);

        Ablations.Run(variants.Take(2).ToList(), [0], Runner, "tag-2", dir);
        Assert.Equal(distinct * seeds.Length + 2, calls);                // another tag trains again
        Assert.Contains("error_y", OlaVlm.Notebook.PlotlyHtml.StandalonePage(second.Chart(), "a"));
    }

    [Fact]
    public void ReportHoldsTheNumbersExactlyAsGiven()
    {
        var bench = BenchEvaluation.Aggregate("baseline", [Score(1, 2), Score(2, 3), Score(2, 2)])
            .Concat(BenchEvaluation.Aggregate("OLA-VLM", [Score(3, 1), Score(1, 1), Score(4, 2)]))
            .Concat(BenchEvaluation.Aggregate("baseline (blind)", [Score(1, 1)])).ToList();
        var probes = ResultsData.Summarise([Probing("baseline", [0.11, 0.52, 0.33], [0.2, 0.25, 0.21])]);
        var corr = new List<CorrelationRow> { new("depth", "MeanOverLayers", "Overall", 6, 0.123456789, 0.04, null), new("gen", "BestLayer", "Overall", 2, null, null, "only 2") };
        var abl = new List<AblationRow> { new("task tokens", "8", "Overall", 0.6123, 0.0311, 3, [0.6, 0.61, 0.6269]) };
        var data = new ResultsData { Bench = bench, Probes = probes, Correlations = corr, Ablations = abl, Setup = new Dictionary<string, string> { ["profile"] = "quick" } };

        var (md, js) = ResultsReport.Write(data, dir);
        var back = ResultsReport.Read(js);
        Assert.Equal(bench.Select(r => (r.Model, r.Metric, r.Mean, r.HalfWidth, r.Seeds)), back.Bench.Select(r => (r.Model, r.Metric, r.Mean, r.HalfWidth, r.Seeds)));
        Assert.Equal(bench.SelectMany(r => r.Values), back.Bench.SelectMany(r => r.Values));
        Assert.Equal(probes.SelectMany(p => p.Cosines), back.Probes.SelectMany(p => p.Cosines));
        Assert.Equal(2, back.Probes.Single(p => p.Teacher == "depth").BestLayer);
        Assert.Equal(0.123456789, back.Correlations[0].R);
        Assert.Null(back.Correlations[1].R);
        Assert.Equal(abl[0].Values, back.Ablations[0].Values);

        var text = File.ReadAllText(md);
        foreach (var r in bench) Assert.Contains($"| {r.Model} | {r.Metric} | {ResultsReport.F(r.Mean)} | {ResultsReport.F(r.HalfWidth)} |", text);
        Assert.Contains("| baseline | depth | 2 | 0.5200 | 0.3200 |", text);
        Assert.Contains("| depth | MeanOverLayers | Overall | 6 | 0.1235 | 0.0400 |", text);
        Assert.Contains("| task tokens | 8 | Overall | 0.6123 | 0.0311 | 3 | 0.6000 0.6100 0.6269 |", text);
        Assert.Contains("| baseline (blind) | Overall | 0.2500 | n/a |", text);
        foreach (var word in new[] { "better", "worse", "improve", "outperform", "wins" }) Assert.DoesNotContain(word, text, StringComparison.OrdinalIgnoreCase);

        var empty = ResultsReport.Markdown(new ResultsData());
        Assert.Equal(6, empty.Split("Not measured.").Length - 1);   // ladder, benchmark, probes, correlations, ablations (paired, own)
    }

    [Fact]
    public void IftShareScalesTheStageAndItsCurriculumAndLeavesPtAlone()
    {
        var full = ExperimentArms.FullMeasurement;                       // IFT 80 steps, 27 of them one-hop
        var quarter = ExperimentArms.WithIftShare(full, 0.25);
        Assert.Equal((20, 7), (quarter.Finetune.Steps, quarter.Finetune.OneHopSteps));
        var half = ExperimentArms.WithIftShare(full, 0.5);
        Assert.Equal((40, 14), (half.Finetune.Steps, half.Finetune.OneHopSteps));   // 13.5 rounds up
        Assert.Equal(full.Pretrain, quarter.Pretrain);                   // PT (and its cache) shared by every share
        Assert.Equal(full.Finetune with { Steps = 20, OneHopSteps = 7 }, quarter.Finetune);
        Assert.Same(full, ExperimentArms.WithIftShare(full, 1.0));
        var tiny = ExperimentArms.WithIftShare(full with { Finetune = full.Finetune with { Steps = 2, OneHopSteps = 2 } }, 0.1);
        Assert.Equal((1, 0), (tiny.Finetune.Steps, tiny.Finetune.OneHopSteps));   // at least one step
        Assert.Throws<ArgumentOutOfRangeException>(() => ExperimentArms.WithIftShare(full, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExperimentArms.WithIftShare(full, 1.5));
    }

    [Fact]
    public void TheMainJobSweepIsTheReferencePairAndOneVariant()
    {
        var b = OlaConfig.Miniature;
        var v = Ablations.Quick(b);
        Assert.Equal(["reference: LLaVA-1.5", "reference: OLA-VLM", "task tokens: 0"], v.Select(x => x.Label));
        Assert.Equal(0, v[2].Config!.NumTaskTokens);
        Assert.Equal(b with { NumTaskTokens = 0 }, v[2].Config);
        Assert.Same(b, v[1].Config);
        // What the main job leaves out stays one call away: the paper's sweep holds "contrastive off".
        Assert.Contains(Ablations.Standard(OlaConfig.Miniature), x => x.Group == "contrastive" && x.Config is { UseContrastive: false });
    }
}
