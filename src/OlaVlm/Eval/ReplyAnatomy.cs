using OlaVlm.World;

namespace OlaVlm.Eval;

/// Where reasoned replies go wrong, per task: the conclusion stated before the letter ("so left (B)",
/// "so red cube (A)", Count's "…; 2; A 3, B 0, C 2, so (C)") checked against the right choice, and the letter checked against that
/// conclusion. A right conclusion with a wrong letter is a failure to find the conclusion among the choices;
/// a wrong conclusion is a failure of the look-ups or the comparison before it.
public sealed record ReplyAnatomy(string Task, int Items, int ConclusionRight, int LetterFollowsConclusion, int Correct)
{
    /// Per task, in the benchmark's task order, then "Overall".
    public static IReadOnlyList<ReplyAnatomy> Of(IReadOnlyList<CvBenchItem> items, IReadOnlyList<string> replies)
    {
        if (items.Count != replies.Count) throw new ArgumentException($"ReplyAnatomy: {items.Count} items but {replies.Count} replies");
        var rows = items.Select((it, i) => (it.Task, Check(it, replies[i]))).ToList();
        ReplyAnatomy Sum(string task, IEnumerable<(string Task, (bool Conclusion, bool Follows, bool Correct) C)> r)
        {
            var list = r.ToList();
            return new(task, list.Count, list.Count(x => x.C.Conclusion), list.Count(x => x.C.Follows), list.Count(x => x.C.Correct));
        }
        return rows.GroupBy(r => r.Task).Select(g => Sum(g.Key, g)).Append(Sum("Overall", rows)).ToList();
    }

    /// The conclusion a reply states before its first "(X)": the words after its last "so"; when "so" is the
    /// last word, Count's stated count: between the tally and the choice walk ("tally; 2; A 3, …, C 2, so"), or,
    /// in the found-6 form without a walk ("tally; 2, so"), the word before ", so". Null when the reply has no letter.
    public static string? Conclusion(string reply)
    {
        int letter = System.Text.RegularExpressions.Regex.Match(reply, @"\([A-Z]\)").Index;
        if (letter <= 0) return null;
        var head = reply[..letter].TrimEnd();
        if (head.EndsWith(", so"))
        {
            var parts = head[..^4].Split("; ");
            return parts.Length >= 3 ? parts[^2].Trim() : parts[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        }
        int so = head.LastIndexOf(" so ", StringComparison.Ordinal);
        return so < 0 ? null : head[(so + 4)..].Trim();
    }

    static (bool Conclusion, bool Follows, bool Correct) Check(CvBenchItem item, string reply)
    {
        var said = Conclusion(reply);
        var letter = AnswerParser.Parse(reply);
        int right = item.AnswerIndex;
        int chosen = letter is char c ? c - 'A' : -1;
        bool conclusion = said is not null && said == item.Choices[right];
        bool follows = said is not null && chosen >= 0 && chosen < item.Choices.Count && item.Choices[chosen] == said;
        return (conclusion, follows, chosen == right);
    }
}
