using System.Text.RegularExpressions;

namespace OlaVlm.Eval;

/// How a model's free-text reply is turned into a choice letter.
public enum AnswerParsing
{
    /// As the reference eval_cv_bench.py: first match of `\(([A-Z])\)` in the raw reply, otherwise the
    /// reply's first character exactly as written (no trimming, no case change: " b" gives ' ', which
    /// is never a correct letter). Used by default so scores compare with the paper's.
    Reference,
    /// Forgiving: leading/trailing whitespace is trimmed, the regex also accepts a lowercase letter
    /// "(a)", and the fallback first character is upper-cased (" b" → 'B').
    Lenient,
}

/// CV-Bench answer parsing. Returns the chosen letter (or, in the fallback, whatever the first
/// character is), or null for an empty reply.
/// One reference bug is NOT copied: when a reply contains "(" but no "(X)", the reference keeps the
/// previous item's parsed answer (a stale variable); here the first-character fallback applies.
public static class AnswerParser
{
    static readonly Regex Upper = new(@"\(([A-Z])\)", RegexOptions.CultureInvariant);
    static readonly Regex AnyCase = new(@"\(([A-Za-z])\)", RegexOptions.CultureInvariant);

    public static char? Parse(string? reply, AnswerParsing mode = AnswerParsing.Reference)
    {
        if (reply is null) return null;
        var text = mode == AnswerParsing.Lenient ? reply.Trim() : reply;
        var m = (mode == AnswerParsing.Lenient ? AnyCase : Upper).Match(text);
        if (m.Success) return char.ToUpperInvariant(m.Groups[1].Value[0]);
        if (text.Length == 0) return null;
        return mode == AnswerParsing.Lenient ? char.ToUpperInvariant(text[0]) : text[0];
    }

    /// Whether a reply gives a choice in the reference format "(X)" at all.
    public static bool HasLetter(string reply) => Upper.IsMatch(reply);

    /// The letter of a ground-truth answer such as "(A)". Anything else is a data error.
    public static char ParseGroundTruth(string answer, string where)
    {
        var m = Upper.Match(answer ?? "");
        if (!m.Success || answer!.Trim().Length != 3)
            throw new FormatException($"{where}: answer '{answer}' is not of the form \"(A)\"");
        return m.Groups[1].Value[0];
    }
}
