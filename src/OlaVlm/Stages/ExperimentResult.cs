using OlaVlm.Eval;
using OlaVlm.Ola;
using OlaVlm.World;

namespace OlaVlm.Stages;

/// One trained arm: its model, the stages' results (metrics of every logged step), greedy benchmark
/// answers and their CV-Bench score. Reused: loaded from the cache, nothing trained now.
/// PretrainCheckpoint: the model as PT left it (the whole model, one safetensors file), for probing what PT put in.
public sealed record ArmResult(string Name, OlaVlmModel Model, IReadOnlyList<StageResult> Stages, IReadOnlyList<string> Answers,
                               CvBenchScore Score, bool Reused, string PretrainCheckpoint)
{
    public StageResult Stage(StageKind kind) => Stages.FirstOrDefault(s => s.Kind == kind)
        ?? throw new KeyNotFoundException($"arm {Name} has no {kind} stage");
}

public sealed record ScoreRow(string Metric, int Count, double Baseline, double Ola)
{
    public double Delta => Ola - Baseline;
}

public sealed record ExperimentResult(string Dir, string Hash, ArmResult Baseline, ArmResult Ola, IReadOnlyList<CvBenchItem> Bench)
{
    /// CV-Bench-style table: Overall, 2D, 3D, per task, per source; accuracies in [0, 1].
    public IReadOnlyList<ScoreRow> ScoreTable()
    {
        var b = Baseline.Score.Records().ToDictionary(r => r.Name);
        return Ola.Score.Records().Select(o => new ScoreRow(o.Name, o.Count, b.TryGetValue(o.Name, out var x) ? x.Accuracy : double.NaN, o.Accuracy)).ToList();
    }
}
