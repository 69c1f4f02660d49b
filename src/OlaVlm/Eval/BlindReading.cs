using System.ComponentModel;
using OlaVlm.World;

namespace OlaVlm.Eval;

/// The blind rung read apart, per task: how often a blind reply (question, no image) gives a letter "(X)" at all,
/// how often that letter is right, beside the world's text prior and chance. A blind score below chance is then
/// read as a failure to answer, not as a prior against the right answer.
public sealed record BlindReading(
    string Task,
    [property: DisplayName("blind replies with (X)")] double Lettered,
    [property: DisplayName("right, of those")] double RightOfThose,
    [property: DisplayName("text prior (no model)")] double TextPrior,
    double Chance)
{
    /// replySets: each model's blind replies in item order; textPrior and chance keyed "task/<Task>".
    public static IReadOnlyList<BlindReading> Of(IReadOnlyList<CvBenchItem> items, IEnumerable<IReadOnlyList<string>> replySets,
                                                 IReadOnlyDictionary<string, double> textPrior, IReadOnlyDictionary<string, double> chance)
    {
        var sets = replySets.ToList();
        if (sets.FirstOrDefault(r => r.Count != items.Count) is { } bad)
            throw new ArgumentException($"BlindReading: a reply set has {bad.Count} replies for {items.Count} items");
        return items.Select(i => i.Task).Distinct().Select(task =>
        {
            var pairs = sets.SelectMany(r => items.Select((it, i) => (Reply: r[i], Item: it))).Where(p => p.Item.Task == task).ToList();
            var lettered = pairs.Where(p => AnswerParser.HasLetter(p.Reply)).ToList();
            double right = lettered.Count(p => AnswerParser.Parse(p.Reply) == AnswerParser.ParseGroundTruth(p.Item.Answer, $"item {p.Item.Idx}"));
            return new BlindReading(task, pairs.Count == 0 ? double.NaN : lettered.Count / (double)pairs.Count,
                                    lettered.Count == 0 ? double.NaN : right / lettered.Count,
                                    textPrior.GetValueOrDefault("task/" + task, double.NaN), chance.GetValueOrDefault("task/" + task, double.NaN));
        }).ToList();
    }
}
