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

    /// One line per reply set (e.g. "LLaVA-1.5 seed 1"), one cell per task reading "conclusion right · letter follows
    /// the conclusion · correct" as shares of the task's items: the reply anatomy table of notebook 05.
    public static IReadOnlyList<ReplyAnatomyLine> Lines(IReadOnlyList<CvBenchItem> items, IEnumerable<(string Who, IReadOnlyList<string> Replies)> sets) =>
        sets.Select(s => new ReplyAnatomyLine(s.Who, Of(items, s.Replies).ToDictionary(r => r.Task, r => r.Cell))).ToList();

    /// "conclusion right · letter follows the conclusion · correct", as shares.
    public string Cell => $"{ConclusionRight / (double)Items:F2} · {LetterFollowsConclusion / (double)Items:F2} · {Correct / (double)Items:F2}";

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

/// One reply set's anatomy, a cell per task (ReplyAnatomy.Cell), for a table.
public sealed record ReplyAnatomyLine(string Replies, [property: System.ComponentModel.Browsable(false)] IReadOnlyDictionary<string, string> Tasks)
{
    public string Count => Tasks.GetValueOrDefault("Count", "");
    public string Relation => Tasks.GetValueOrDefault("Relation", "");
    public string Depth => Tasks.GetValueOrDefault("Depth", "");
    public string Distance => Tasks.GetValueOrDefault("Distance", "");
    public string Overall => Tasks.GetValueOrDefault("Overall", "");
}
