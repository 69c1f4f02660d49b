using OlaVlm.Eval;

namespace OlaVlm.Experiments;

/// How one probing result is reduced to one number per teacher.
public enum ProbeSummary { MeanOverLayers, BestLayer }

/// One trained checkpoint (model × seed): its probing result and its benchmark score.
public sealed record CheckpointMeasure(string Checkpoint, int Seed, LayerProbingResult Probing, CvBenchScore Bench);

public sealed record CorrelationPoint(string Checkpoint, int Seed, double ProbeScore, double Accuracy);

/// Pearson r between a teacher's probe quality and a benchmark metric across checkpoints. Pearson is null
/// (with Note saying why) when r is undefined: fewer than 3 points or a constant series.
public sealed record CorrelationResult(string Teacher, ProbeSummary Summary, string Metric, IReadOnlyList<CorrelationPoint> Points,
    PearsonResult? Pearson, string? Note);

/// The paper's probe ↔ CV-Bench analysis (r = 0.98 for depth and seg, 0.37 for gen at full scale):
/// probe quality per teacher against downstream accuracy over every checkpoint and seed.
public static class ProbeCorrelation
{
    public static IReadOnlyList<CorrelationResult> Compute(IReadOnlyList<CheckpointMeasure> measures,
        ProbeSummary summary = ProbeSummary.MeanOverLayers, string metric = "Overall")
    {
        if (measures.Count == 0) throw new ArgumentException("ProbeCorrelation.Compute: no checkpoints");
        var teachers = measures.SelectMany(m => m.Probing.Curves.Select(c => c.Teacher)).Distinct().ToList();
        var results = new List<CorrelationResult>();
        foreach (var teacher in teachers)
        {
            var points = measures.Select(m =>
            {
                var curve = m.Probing.Curve(teacher);
                double probe = summary == ProbeSummary.BestLayer ? curve.BestCosine : curve.MeanCosine;
                var acc = m.Bench.Records().FirstOrDefault(r => r.Name == metric)
                    ?? throw new KeyNotFoundException($"ProbeCorrelation: checkpoint '{m.Checkpoint}' seed {m.Seed} has no metric '{metric}'");
                return new CorrelationPoint(m.Checkpoint, m.Seed, probe, acc.Accuracy);
            }).ToList();
            var xs = points.Select(p => p.ProbeScore).ToList();
            var ys = points.Select(p => p.Accuracy).ToList();
            string? note = points.Count < 3 ? $"only {points.Count} checkpoints (r needs 3)"
                : xs.Distinct().Count() < 2 ? "probe scores are all equal"
                : ys.Distinct().Count() < 2 ? $"{metric} is the same for every checkpoint" : null;
            results.Add(new CorrelationResult(teacher, summary, metric, points, note is null ? Stats.Pearson(xs, ys) : null, note));
        }
        return results;
    }
}
