using OlaVlm.Core;
using OlaVlm.Teachers;
using static TorchSharp.torch;

namespace OlaVlm.Experiments;

/// Models trained at one seed, e.g. [baseline, OLA-VLM] from the experiment runner. Names must be the
/// same at every seed: they group the seeds into one row per model.
public sealed record SeedModels(int Seed, IReadOnlyList<MllmUnderTest> Models);

/// What to measure on every trained model.
public sealed record MeasureConfig
{
    public BenchConfig Bench { get; init; } = BenchConfig.Reference;
    public LayerProbingConfig Probing { get; init; } = LayerProbingConfig.Full;
    /// Also answer with no image (the "blind" row: what the text alone gives).
    public bool Blind { get; init; } = true;
    /// Probe only this many seeds per model (probing costs most); null = every seed.
    public int? ProbeSeeds { get; init; }
    public double Level { get; init; } = 0.95;
    /// Probe quality → accuracy correlation settings.
    public ProbeSummary Summary { get; init; } = ProbeSummary.MeanOverLayers;
    public string CorrelationMetric { get; init; } = "Overall";
}

public sealed record ProbedCheckpoint(string Model, int Seed, LayerProbingResult Probing);

/// Everything measured over the trained models: per-seed scores, the table over seeds, probe curves and
/// the probe ↔ accuracy correlation. ToResultsData feeds ResultsReport.
public sealed record MeasurementResult(IReadOnlyList<BenchRun> Runs, IReadOnlyList<BenchRow> Bench,
    IReadOnlyList<ProbedCheckpoint> Probes, IReadOnlyList<CorrelationResult> Correlations)
{
    public ResultsData ToResultsData(IReadOnlyDictionary<string, string>? setup = null, IReadOnlyList<AblationRow>? ablations = null) => new()
    {
        Setup = setup ?? new Dictionary<string, string>(),
        Bench = Bench,
        Probes = ResultsData.Summarise(Probes.Select(p => p.Probing with { Model = $"{p.Model} seed {p.Seed}" })),
        Correlations = ResultsData.Summarise(Correlations),
        Ablations = ablations ?? [],
    };
}

/// The measurement side in one call: every model of every seed answers the benchmark (with images and,
/// optionally, blind; with `priorTrain`, the world's text-only prior adds a row), is probed at every layer against every teacher, and probe quality is correlated
/// with accuracy across all probed checkpoints. Benchmark replies and probe curves are cached under
/// Paths.Out (bench/, probing/), so re-running a notebook re-measures only new models.
public static class Measurements
{
    public static MeasurementResult Run(IReadOnlyList<SeedModels> seeds, BenchSet bench, IReadOnlyList<ITeacher> teachers,
        ProbeImages? images, MeasureConfig config, Device? device = null, Action<string>? log = null, string? cacheRoot = null,
        IEnumerable<World.CvBenchItem>? priorTrain = null)
    {
        if (seeds.Count == 0) throw new ArgumentException("Measurements.Run: no seeds");
        cacheRoot ??= Paths.Out;
        string benchCache = Path.Combine(cacheRoot, "bench"), probeCache = Path.Combine(cacheRoot, "probing");
        var runs = new List<BenchRun>();
        var probes = new List<ProbedCheckpoint>();
        var measures = new List<CheckpointMeasure>();
        var probedPerModel = new Dictionary<string, int>();
        foreach (var s in seeds)
            foreach (var m in s.Models)
            {
                var score = BenchEvaluation.Evaluate(m, bench, config.Bench, blind: false, cacheDir: benchCache);
                runs.Add(new BenchRun(m.Name, s.Seed, score));
                log?.Invoke($"{m.Name} seed {s.Seed}: overall {score.Overall:F4} (2D {score.Accuracy2D:F4}, 3D {score.Accuracy3D:F4})");
                if (config.Blind)
                {
                    var blind = BenchEvaluation.Evaluate(m, bench, config.Bench, blind: true, cacheDir: benchCache);
                    runs.Add(new BenchRun(m.Name + " (blind)", s.Seed, blind));
                }
                if (images is null || teachers.Count == 0) continue;
                int done = probedPerModel.GetValueOrDefault(m.Name);
                if (config.ProbeSeeds is int max && done >= max) continue;
                probedPerModel[m.Name] = done + 1;
                var p = LayerProbing.Run(m, teachers, images, config.Probing, device, probeCache, log);
                probes.Add(new ProbedCheckpoint(m.Name, s.Seed, p));
                measures.Add(new CheckpointMeasure(m.Name, s.Seed, p, score));
            }
        if (priorTrain is not null) runs.Add(new BenchRun("text prior (no model)", 0, BenchEvaluation.TextPrior(priorTrain, bench, config.Bench)));
        var correlations = measures.Count == 0 ? [] : ProbeCorrelation.Compute(measures, config.Summary, config.CorrelationMetric);
        return new MeasurementResult(runs, BenchEvaluation.Aggregate(runs, config.Level), probes, correlations);
    }

    /// Probes every model of every seed against every teacher, without the benchmark: what PT put into each layer
    /// (notebook 04 probes the PT checkpoints this way). Cached under Paths.Out/probing like Run's probes.
    public static IReadOnlyList<ProbedCheckpoint> Probe(IReadOnlyList<SeedModels> seeds, IReadOnlyList<ITeacher> teachers, ProbeImages images,
        LayerProbingConfig config, Device? device = null, Action<string>? log = null, string? cacheRoot = null) =>
        seeds.SelectMany(s => s.Models.Select(m => new ProbedCheckpoint(m.Name, s.Seed,
            LayerProbing.Run(m, teachers, images, config, device, Path.Combine(cacheRoot ?? Paths.Out, "probing"), log)))).ToList();
}
