namespace OlaVlm.World;

/// Benchmark composition: items per task and type, and how often each letter is the answer.
public sealed record BenchStats(int Items, IReadOnlyDictionary<string, int> PerTask, IReadOnlyDictionary<string, int> PerType,
    IReadOnlyDictionary<string, int> AnswerLetters, IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> AnswerLettersPerTask);

/// LLaVA file composition: records with/without image, turns, and the words used.
public sealed record LlavaStats(int Records, int WithImage, int TextOnly, int Turns, double MeanTurnsPerRecord, int DistinctWords, int Skipped);

public static class DatasetStats
{
    public static BenchStats Of(IReadOnlyList<CvBenchItem> items) => new(
        items.Count,
        Counts(items, i => i.Task), Counts(items, i => i.Type), Counts(items, i => i.Answer),
        items.GroupBy(i => i.Task).OrderBy(g => g.Key)
             .ToDictionary(g => g.Key, g => (IReadOnlyDictionary<string, int>)Counts(g, i => i.Answer)));

    public static LlavaStats Of(LlavaDataset d)
    {
        var words = new HashSet<string>();
        foreach (var r in d.Records)
        foreach (var t in r.Conversations)
        foreach (var w in t.Value.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries)) words.Add(w.Trim('.', ',', '?', ':', '!').ToLowerInvariant());
        int turns = d.Records.Sum(r => r.Conversations.Count);
        return new LlavaStats(d.Records.Count, d.Records.Count(r => r.HasImage), d.Records.Count(r => !r.HasImage), turns,
            d.Records.Count == 0 ? 0 : (double)turns / d.Records.Count, words.Count, d.Skipped.Count);
    }

    static Dictionary<string, int> Counts<T>(IEnumerable<T> xs, Func<T, string> key) =>
        xs.GroupBy(key).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count());
}
