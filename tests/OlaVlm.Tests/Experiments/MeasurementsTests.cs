using OlaVlm.Eval;
using OlaVlm.Experiments;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Experiments;

public class MeasurementsTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "ola-measure-" + Guid.NewGuid().ToString("N"));

    public void Dispose() { if (Directory.Exists(dir)) Directory.Delete(dir, true); }

    [Fact]
    public void SeedsOfTinyModelsAreScoredBlindAndSightedProbedAndCorrelated()
    {
        var bench = BenchSet.Load(BenchEvaluationTests.WriteFixture(dir));
        var seeds = Enumerable.Range(0, 3).Select(seed => new SeedModels(seed,
        [
            LayerProbingTests.TinyMllm(seed: 10 + seed, name: "baseline").Model,
            LayerProbingTests.TinyMllm(randn(2, 32, generator: new Generator((ulong)seed)), seed: 20 + seed, name: "OLA-VLM").Model,
        ])).ToList();
        using var teacher = new ResizingTeacher(new PatchTeacher(), 8);
        var g = new Generator(5);
        using var images = new ProbeImages(randn(6, 3, 16, 16, generator: g), randn(3, 3, 16, 16, generator: g));
        var config = new MeasureConfig
        {
            Bench = BenchConfig.Lenient,
            Probing = LayerProbingConfig.Quick with { TrainImages = 6, ValImages = 3, MaxLayers = 2, Probe = new ProbeOptions { Epochs = 1, BatchSize = 3 } },
        };
        var r = Measurements.Run(seeds, bench, [teacher], images, config, CPU, cacheRoot: dir);

        Assert.Equal(12, r.Runs.Count);                                   // 3 seeds × 2 models × (sighted, blind)
        Assert.Equal(["baseline", "baseline (blind)", "OLA-VLM", "OLA-VLM (blind)"], r.Bench.Select(b => b.Model).Distinct());
        foreach (var model in new[] { "baseline", "OLA-VLM (blind)" })
        {
            var overall = r.Runs.Where(x => x.Model == model).OrderBy(x => x.Seed).Select(x => x.Score.Overall).ToList();
            var row = r.Bench.Single(b => b.Model == model && b.Metric == "Overall");
            Assert.Equal(overall, row.Values);
            if (overall.Distinct().Count() > 1) Assert.Equal(Stats.TInterval(overall).HalfWidth, row.HalfWidth, 1e-12);
        }
        Assert.Equal(6, r.Probes.Count);
        Assert.All(r.Probes, p => Assert.Equal([0, 1, 3], p.Probing.Curve("patch").Layers));
        var corr = Assert.Single(r.Correlations);
        Assert.Equal(6, corr.Points.Count);
        Assert.Equal(r.Runs.Where(x => !x.Model.EndsWith("(blind)")).Select(x => x.Score.Overall), corr.Points.Select(p => p.Accuracy));

        var data = r.ToResultsData();
        Assert.Equal(r.Bench.Count, data.Bench.Count);
        Assert.Contains(data.Probes, p => p.Model == "OLA-VLM seed 2");

        // Second run: everything from the caches (bench replies and probe curves), same numbers.
        var again = Measurements.Run(seeds, bench, [teacher], images, config, CPU, cacheRoot: dir);
        Assert.Equal(r.Bench.Select(b => b.Mean), again.Bench.Select(b => b.Mean));
        Assert.Equal(r.Probes.SelectMany(p => p.Probing.Curves[0].Cosines), again.Probes.SelectMany(p => p.Probing.Curves[0].Cosines));
    }
}
