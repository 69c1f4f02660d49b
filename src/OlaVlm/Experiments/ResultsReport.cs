using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using OlaVlm.Core;

namespace OlaVlm.Experiments;

/// Probe summary of one model × teacher for the report.
public sealed record ProbeSummaryRow(string Model, string Teacher, int BestLayer, double BestCosine, double MeanCosine,
    IReadOnlyList<int> Layers, IReadOnlyList<double> Cosines);

/// Correlation of one teacher's probe quality with a benchmark metric.
public sealed record CorrelationRow(string Teacher, string Summary, string Metric, int N, double? R, double? PValue, string? Note);

/// Everything the results report holds; each part may be empty (the report says "not measured").
public sealed record ResultsData
{
    public string Title { get; init; } = "OLA-VLM results";
    /// Free-form facts about the run (profile, world, model size, seeds, device).
    public IReadOnlyDictionary<string, string> Setup { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<BenchRow> Bench { get; init; } = [];
    public IReadOnlyList<ProbeSummaryRow> Probes { get; init; } = [];
    public IReadOnlyList<CorrelationRow> Correlations { get; init; } = [];
    public IReadOnlyList<AblationRow> Ablations { get; init; } = [];
    /// Each ablation as its paired difference to OLA-VLM at the same seeds.
    public IReadOnlyList<AblationDifference> AblationDifferences { get; init; } = [];
    /// The ladder from blind to oracle (notebook 05, Experiments.Ladder).
    public IReadOnlyList<LadderRow> Ladder { get; init; } = [];

    public static IReadOnlyList<ProbeSummaryRow> Summarise(IEnumerable<LayerProbingResult> results) =>
        results.SelectMany(r => r.Curves.Select(c => new ProbeSummaryRow(r.Model, c.Teacher, c.BestLayer, c.BestCosine, c.MeanCosine, c.Layers, c.Cosines))).ToList();

    public static IReadOnlyList<CorrelationRow> Summarise(IEnumerable<CorrelationResult> results) =>
        results.Select(c => new CorrelationRow(c.Teacher, c.Summary.ToString(), c.Metric, c.Points.Count, c.Pearson?.R, c.Pearson?.PValue, c.Note)).ToList();
}

/// Writes out/report/results.md (tables for people) and results.json (the same numbers, full precision,
/// for tools). Numbers are printed as measured — no ranking, no "better/worse" wording: the reader
/// compares the intervals.
public static class ResultsReport
{
    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,   // NaN half-widths (one seed)
    };

    /// Returns (markdown path, json path). `dir` defaults to Paths.Out/report.
    public static (string Markdown, string Json) Write(ResultsData data, string? dir = null)
    {
        dir ??= Paths.OutDir("report");
        Directory.CreateDirectory(dir);
        string md = Path.Combine(dir, "results.md"), js = Path.Combine(dir, "results.json");
        File.WriteAllText(md, Markdown(data));
        File.WriteAllText(js, JsonSerializer.Serialize(data, Json));
        return (md, js);
    }

    public static ResultsData Read(string jsonPath) =>
        JsonSerializer.Deserialize<ResultsData>(File.ReadAllText(jsonPath), Json)
        ?? throw new InvalidDataException($"{jsonPath}: no results");

    /// Fixed 4-decimal format used in every table (accuracies and cosines are in [0, 1]).
    public static string F(double x) => double.IsNaN(x) ? "n/a" : x.ToString("F4", CultureInfo.InvariantCulture);

    public static string Markdown(ResultsData d)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# {d.Title}").AppendLine();
        if (d.Setup.Count > 0)
        {
            sb.AppendLine("## Setup").AppendLine();
            foreach (var (k, v) in d.Setup) sb.AppendLine($"- {k}: {v}");
            sb.AppendLine();
        }

        sb.AppendLine("## The ladder: blind, text oracle, LLaVA-1.5, OLA-VLM").AppendLine();
        if (d.Ladder.Count == 0) sb.AppendLine("Not measured.").AppendLine();
        else sb.Append(Experiments.Ladder.Markdown(d.Ladder)).AppendLine();

        Section(sb, "Benchmark (CV-Bench scoring: 2D = mean of 2D sources, 3D = 3D sources, overall = (2D+3D)/2)", d.Bench,
            "| model | metric | mean | ± | interval | level | seeds | per seed |",
            r => $"| {r.Model} | {r.Metric} | {F(r.Mean)} | {F(r.HalfWidth)} | [{F(r.Lower)}, {F(r.Upper)}] | {r.Level.ToString("P0", CultureInfo.InvariantCulture)} | {r.Seeds} | {string.Join(" ", r.Values.Select(F))} |",
            "Mean over seeds ± half-width of the t-interval (level shown); per-seed values in the last column.");
        Section(sb, "Probes (cosine of flattened prediction vs target on val images)", d.Probes,
            "| model | teacher | best layer | best cosine | mean cosine | cosine per layer |",
            p => $"| {p.Model} | {p.Teacher} | {p.BestLayer} | {F(p.BestCosine)} | {F(p.MeanCosine)} | {string.Join(" ", p.Layers.Select((l, i) => $"L{l}:{F(p.Cosines[i])}"))} |");
        Section(sb, "Probe quality vs benchmark (Pearson r over checkpoints and seeds)", d.Correlations,
            "| teacher | probe summary | metric | n | r | p | note |",
            c => $"| {c.Teacher} | {c.Summary} | {c.Metric} | {c.N} | {(c.R is double r ? F(r) : "n/a")} | {(c.PValue is double p ? F(p) : "n/a")} | {c.Note ?? ""} |");
        Section(sb, "Ablations: paired difference to OLA-VLM at the same seed (variant − OLA-VLM, t over seeds)", d.AblationDifferences,
            "| group | variant | metric | mean difference | 95 % interval | seeds | per seed |",
            a => $"| {a.Group} | {a.Variant} | {a.Metric} | {F(a.Mean)} | [{F(a.Lower)}, {F(a.Upper)}] | {a.Seeds} | {string.Join(" ", a.Values.Select(F))} |");
        Section(sb, "Ablations: each variant's own score", d.Ablations,
            "| group | variant | metric | mean | ± | seeds | per seed |",
            a => $"| {a.Group} | {a.Variant} | {a.Metric} | {F(a.Mean)} | {F(a.HalfWidth)} | {a.Seeds} | {string.Join(" ", a.Values.Select(F))} |");
        return sb.ToString();
    }

    /// One "## heading" section: "Not measured." without rows, else an optional note and a markdown table.
    static void Section<T>(StringBuilder sb, string heading, IReadOnlyList<T> rows, string header, Func<T, string> row, string? note = null)
    {
        sb.AppendLine($"## {heading}").AppendLine();
        if (rows.Count == 0) { sb.AppendLine("Not measured.").AppendLine(); return; }
        if (note is not null) sb.AppendLine(note).AppendLine();
        sb.AppendLine(header);
        sb.AppendLine("|" + string.Concat(Enumerable.Repeat("---|", header.Count(c => c == '|') - 1)));
        foreach (var r in rows) sb.AppendLine(row(r));
        sb.AppendLine();
    }
}
