namespace OlaVlm.Eval;

/// Whether a trained arm sits on the PT plateau, decided by a criterion fixed before the seed study looked at any
/// run. On the plateau the look-up by colour does not reach the asked object's image tokens, so the facts a reply
/// restates (FactReading) are the wrong object's: of the runs on record, those that left the plateau wrote the asked
/// object's grid column right 0.74–0.76 of the time, those on it 0.22–0.26 (LLaVA-1.5 and OLA-VLM, main jobs at
/// e51df7e and 030fe51). The bar sits between the two groups. The PT next-token loss over PT's last 50 steps is
/// reported beside it as the early warning it is (off the plateau 0.95–1.17, on it 1.32–1.66), not as the criterion:
/// one arm's loss is one batch per step, and OLA-VLM's projector also serves the embedding loss.
public sealed record Plateau(double ColumnShare, double? PtLossLast50, bool On)
{
    /// The column share below which a run is on the plateau.
    public const double ColumnBar = 0.5;
    /// PT steps averaged for the early-warning loss.
    public const int LastSteps = 50;

    public static Plateau Of(FactReading facts, IReadOnlyList<IReadOnlyDictionary<string, double>> ptMetrics) =>
        Of(facts.ColumnShare, PtLoss(ptMetrics));

    public static Plateau Of(double columnShare, double? ptLoss) =>
        new(columnShare, ptLoss, double.IsNaN(columnShare) || columnShare < ColumnBar);

    /// Mean next-token loss ("ntp") of the logged rows in PT's last 50 steps, or null without any.
    public static double? PtLoss(IReadOnlyList<IReadOnlyDictionary<string, double>> ptMetrics)
    {
        if (ptMetrics.Count == 0) return null;
        double last = ptMetrics.Max(m => m.GetValueOrDefault("step"));
        var rows = ptMetrics.Where(m => m.TryGetValue("step", out var s) && s > last - LastSteps && m.ContainsKey("ntp")).ToList();
        return rows.Count == 0 ? null : rows.Average(m => m["ntp"]);
    }
}
