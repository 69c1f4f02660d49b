using System.Globalization;
using System.Text;

namespace OlaVlm.Experiments;

/// An ablation sweep as markdown (out/report/ablations.md): each variant's paired difference to OLA-VLM, then its own
/// scores, with the seeds and the wall time of the command that ran it.
public static class AblationReport
{
    public static string Markdown(AblationSweepResult sweep, string command, double seconds, IEnumerable<string>? metrics = null)
    {
        string F(double x) => double.IsNaN(x) ? "n/a" : x.ToString("F3", CultureInfo.InvariantCulture);
        var keep = (metrics ?? ["Overall", "task/Count", "task/Relation", "task/Depth", "task/Distance"]).ToList();
        var sb = new StringBuilder();
        sb.AppendLine("# Ablations").AppendLine().AppendLine($"`{command}`: {sweep.Computed} runs trained, {sweep.Reused} from the cache, {seconds / 60:F1} min.").AppendLine();
        sb.AppendLine("Paired difference to OLA-VLM at the same seed (variant − OLA-VLM), 95 % t-interval over seeds:").AppendLine();
        sb.AppendLine("| group | variant | metric | mean difference | 95 % interval | seeds | per seed |").AppendLine("|---|---|---|---|---|---|---|");
        foreach (var d in sweep.Paired(keep))
            sb.AppendLine($"| {d.Group} | {d.Variant} | {d.Metric} | {F(d.Mean)} | [{F(d.Lower)}, {F(d.Upper)}] | {d.Seeds} | {string.Join(" ", d.Values.Select(F))} |");
        sb.AppendLine().AppendLine("Each variant's own score (mean over seeds):").AppendLine();
        sb.AppendLine("| group | variant | metric | mean | ± | per seed |").AppendLine("|---|---|---|---|---|---|");
        foreach (var r in sweep.Table.Where(r => keep.Contains(r.Metric)))
            sb.AppendLine($"| {r.Group} | {r.Variant} | {r.Metric} | {F(r.Mean)} | {F(r.HalfWidth)} | {string.Join(" ", r.Values.Select(F))} |");
        return sb.ToString();
    }

    /// Writes out/report/ablations.md (or `file`) and returns its path.
    public static string Write(AblationSweepResult sweep, string command, double seconds, string? file = null)
    {
        file ??= Path.Combine(Core.Paths.OutDir("report"), "ablations.md");
        File.WriteAllText(file, Markdown(sweep, command, seconds));
        return file;
    }
}
