using System.Globalization;
using System.Text;

namespace OlaVlm.Experiments;

/// The seed study as markdown: the recipe, the per-seed table, the plateau rates and the paired differences.
public static class SeedStudyReport
{
    public static string Markdown(SeedStudy s)
    {
        string F(double x) => double.IsNaN(x) ? "n/a" : x.ToString("F3", CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.AppendLine("# Seed study").AppendLine().AppendLine($"Recipe: {s.Recipe}.").AppendLine();
        double trained = s.Arms.Sum(a => a.TrainSeconds ?? 0);
        sb.AppendLine($"Training time, both arms at every seed, from the step logs: {trained / 60:F1} min; this command's wall time " +
                      $"{s.Seconds / 60:F1} min (seeds already in the cache are read, not retrained).").AppendLine();
        sb.AppendLine($"On the plateau: column right < {Eval.Plateau.ColumnBar:F1} (Eval.Plateau, fixed before the study).").AppendLine();
        sb.AppendLine("| seed | arm | overall | Count | Relation | Depth | Distance | column right | PT loss (last 50) | PT start (of tried) | on the plateau |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var a in s.Arms)
            sb.AppendLine($"| {a.Seed} | {a.Arm} | {F(a.Overall)} | {F(a.Count)} | {F(a.Relation)} | {F(a.Depth)} | {F(a.Distance)} | {F(a.ColumnShare)} | " +
                          $"{(a.PtLoss is double l ? F(l) : "n/a")} | {(a.PtStart is int st ? $"{st} (of {a.PtStartsTried})" : "n/a")} | {(a.OnPlateau ? "yes" : "no")} |");
        if (s.Arms.Any(a => a.PtStartsTried is > 1))
            sb.AppendLine().AppendLine($"PT restarts (start 0 = the seed's own initialisation): {s.Arms.Count(a => a.PtStartsTried is > 1)} of {s.Arms.Count} runs " +
                                       $"tried more than one start; {s.Arms.Count(a => a.PtStart is > 0)} went on from another.");
        sb.AppendLine().AppendLine("| arm | seeds | on the plateau | rate, 95 % Wilson |").AppendLine("|---|---|---|---|");
        foreach (var p in s.Plateaus) sb.AppendLine($"| {p.Arm} | {p.Seeds} | {p.On} | [{F(p.Lower)}, {F(p.Upper)}] |");
        foreach (var rows in new[] { s.Differences, s.DifferencesOffPlateau })
        {
            if (rows.Count == 0) continue;
            sb.AppendLine().AppendLine($"{rows[0].Model} (paired t over seeds):").AppendLine();
            sb.AppendLine("| metric | mean | 95 % interval | ± | seeds | per seed |").AppendLine("|---|---|---|---|---|---|");
            foreach (var r in rows)
                sb.AppendLine($"| {r.Metric} | {F(r.Mean)} | [{F(r.Lower)}, {F(r.Upper)}] | {F(r.HalfWidth)} | {r.Seeds} | {string.Join(" ", r.Values.Select(F))} |");
        }
        return sb.ToString();
    }
}
