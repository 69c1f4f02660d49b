namespace OlaVlm.Eval;

/// One CV-Bench question with the model's reply (test.jsonl fields: task, source, answer "(A)", type).
public sealed record CvBenchAnswer(string Id, string Task, string Source, string Answer, string Prediction, string? Type = null);

public sealed record CvBenchItemResult(string Id, string Task, string Source, char Answer, char? Parsed, bool Correct);

/// A named accuracy with the number of items behind it (a row of the results table).
public sealed record CvBenchMetric(string Name, double Accuracy, int Count);

public sealed record CvBenchScore(
    IReadOnlyList<CvBenchItemResult> Items,
    IReadOnlyDictionary<string, CvBenchMetric> ByTask,
    IReadOnlyDictionary<string, CvBenchMetric> BySource,
    double Accuracy2D, double Accuracy3D, double Overall,
    IReadOnlyList<string> Sources2D, IReadOnlyList<string> Sources3D)
{
    /// Overall, 2D, 3D, then "task/…" and "source/…" rows, for a results table or CSV.
    public IEnumerable<CvBenchMetric> Records()
    {
        yield return new("Overall", Overall, Items.Count);
        yield return new("2D", Accuracy2D, BySource.Values.Where(m => Sources2D.Contains(m.Name)).Sum(m => m.Count));
        yield return new("3D", Accuracy3D, BySource.Values.Where(m => Sources3D.Contains(m.Name)).Sum(m => m.Count));
        foreach (var m in ByTask.Values.OrderBy(m => m.Name)) yield return m with { Name = "task/" + m.Name };
        foreach (var m in BySource.Values.OrderBy(m => m.Name)) yield return m with { Name = "source/" + m.Name };
    }
}

/// CV-Bench scoring as Cambrian-1's eval (and OLA-VLM's eval_cv_bench.py):
///   accuracy per source; 2D = mean of the 2D sources' accuracies (ADE20K, COCO — a mean of means, not
///   pooled over items); 3D = mean of the 3D sources' accuracies (Omni3D only); Overall = (2D + 3D) / 2.
/// Accuracy per task (Count, Relation, Depth, Distance) is reported alongside.
/// A dimension with no items scores NaN (and so does Overall); a source in neither list is an error.
/// Without explicit lists, a source counts as 2D or 3D by the items' `type` field ("2D"/"3D"), besides
/// the real benchmark's ADE20K, COCO (2D) and Omni3D (3D).
public static class CvBenchScorer
{
    public static readonly IReadOnlyList<string> DefaultSources2D = ["ADE20K", "COCO"];
    public static readonly IReadOnlyList<string> DefaultSources3D = ["Omni3D"];

    /// Scores benchmark items (as loaded by World.CvBench.Load) against the model's replies, in order.
    public static CvBenchScore Score(IReadOnlyList<World.CvBenchItem> items, IReadOnlyList<string> predictions,
                                     AnswerParsing parsing = AnswerParsing.Reference)
    {
        if (items.Count != predictions.Count)
            throw new ArgumentException($"CvBenchScorer.Score: {items.Count} items but {predictions.Count} predictions");
        return Score(items.Select((it, i) => new CvBenchAnswer(it.Idx.ToString(), it.Task, it.Source, it.Answer, predictions[i], it.Type)), parsing);
    }

    public static CvBenchScore Score(IEnumerable<CvBenchAnswer> answers, AnswerParsing parsing = AnswerParsing.Reference,
                                     IReadOnlyList<string>? sources2D = null, IReadOnlyList<string>? sources3D = null)
    {
        var items = answers.ToList();
        sources2D ??= DefaultSources2D.Concat(items.Where(i => i.Type == "2D").Select(i => i.Source)).Distinct().ToList();
        sources3D ??= DefaultSources3D.Concat(items.Where(i => i.Type == "3D").Select(i => i.Source)).Distinct().ToList();
        var results = new List<CvBenchItemResult>();
        foreach (var it in items)
        {
            if (!sources2D.Contains(it.Source) && !sources3D.Contains(it.Source))
                throw new ArgumentException($"CV-Bench item {it.Id}: source '{it.Source}' is neither 2D ({string.Join(",", sources2D)}) nor 3D ({string.Join(",", sources3D)})");
            var truth = AnswerParser.ParseGroundTruth(it.Answer, $"CV-Bench item {it.Id}");
            var parsed = AnswerParser.Parse(it.Prediction, parsing);
            results.Add(new(it.Id, it.Task, it.Source, truth, parsed, parsed == truth));
        }
        var byTask = Group(results, r => r.Task);
        var bySource = Group(results, r => r.Source);
        double Dim(IReadOnlyList<string> sources)
        {
            var accs = sources.Where(bySource.ContainsKey).Select(s => bySource[s].Accuracy).ToList();
            return accs.Count == 0 ? double.NaN : accs.Average();
        }
        double d2 = Dim(sources2D), d3 = Dim(sources3D);
        return new CvBenchScore(results, byTask, bySource, d2, d3, (d2 + d3) / 2, sources2D, sources3D);
    }

    static Dictionary<string, CvBenchMetric> Group(List<CvBenchItemResult> rs, Func<CvBenchItemResult, string> key) =>
        rs.GroupBy(key).ToDictionary(g => g.Key, g => new CvBenchMetric(g.Key, g.Count(r => r.Correct) / (double)g.Count(), g.Count()));
}
