using OlaVlm.World;

namespace OlaVlm.Eval;

/// A text-only ("blind") baseline: it never sees the image. It learns, on a training split, how often each
/// answer string is correct per task (and the majority answer of any exact question string it has seen),
/// then picks the most promising choice. On a balanced benchmark it must score at chance.
public sealed class BlindBaseline
{
    readonly Dictionary<(string Task, string Choice), (int Correct, int Seen)> _choiceStats = new();
    readonly Dictionary<string, Dictionary<string, int>> _byQuestion = new();

    public static BlindBaseline Train(IEnumerable<CvBenchItem> train)
    {
        var b = new BlindBaseline();
        foreach (var it in train)
        {
            string ans = it.Choices[it.AnswerIndex];
            foreach (var c in it.Choices)
            {
                b._choiceStats.TryGetValue((it.Task, c), out var s);
                b._choiceStats[(it.Task, c)] = (s.Correct + (c == ans ? 1 : 0), s.Seen + 1);
            }
            if (!b._byQuestion.TryGetValue(it.Question, out var d)) b._byQuestion[it.Question] = d = new();
            d[ans] = d.GetValueOrDefault(ans) + 1;
        }
        return b;
    }

    /// The predicted answer as CV-Bench output text, e.g. "(B)".
    public string Predict(CvBenchItem it)
    {
        int best = 0; double bestScore = double.NegativeInfinity;
        _byQuestion.TryGetValue(it.Question, out var seen);
        for (int i = 0; i < it.Choices.Count; i++)
        {
            var c = it.Choices[i];
            _choiceStats.TryGetValue((it.Task, c), out var s);
            double score = (s.Correct + 1.0) / (s.Seen + 2.0) + (seen?.GetValueOrDefault(c) ?? 0);
            if (score > bestScore) { bestScore = score; best = i; }
        }
        return $"({Questions.Letter(best)})";
    }

    public Eval.CvBenchScore Evaluate(IReadOnlyList<CvBenchItem> items) => Eval.CvBenchScorer.Score(items, items.Select(Predict).ToList());

    /// Expected accuracy of uniform guessing on these items (mean of 1 / number of choices).
    public static double Chance(IEnumerable<CvBenchItem> items) => items.Average(i => 1.0 / i.Choices.Count);
}
