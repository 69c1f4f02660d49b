using OlaVlm.Notebook;
using Plotly.NET;

using OlaVlm.Experiments;
using OlaVlm.Eval;

namespace OlaVlm.Notebook;

/// The experiment charts Notebook.Charts lacks: grouped bars with error bars (models side by side per
/// metric) and probe curves whose series may cover different layers. Built like Notebook.Charts: fresh
/// Trace/Layout objects with plotly.js attribute names.
public static class ResultCharts
{
    /// One bar group per metric, one bar per model, error bars = the rows' t-interval half-widths
    /// (none where a model has a single seed).
    public static GenericChart GroupedBars(string title, IEnumerable<BenchRow> rows, IReadOnlyList<string>? metrics = null,
        string yTitle = "accuracy", int width = Charts.DefaultWidth, int height = Charts.DefaultHeight)
    {
        var list = rows.ToList();
        metrics ??= list.Select(r => r.Metric).Distinct().ToList();
        var traces = new List<Trace>();
        foreach (var model in list.Select(r => r.Model).Distinct())
        {
            var byMetric = list.Where(r => r.Model == model).ToDictionary(r => r.Metric);
            var missing = metrics.Where(m => !byMetric.ContainsKey(m)).ToList();
            if (missing.Count > 0) throw new ArgumentException($"ResultCharts.GroupedBars '{title}': model '{model}' has no rows for {string.Join(", ", missing)}");
            var y = metrics.Select(m => byMetric[m].Mean).ToArray();
            var err = metrics.Select(m => double.IsNaN(byMetric[m].HalfWidth) ? 0.0 : byMetric[m].HalfWidth).ToArray();
            var t = new Trace("bar");
            t.SetProperty("name", model);
            t.SetProperty("x", metrics.ToArray());
            t.SetProperty("y", y);
            t.SetProperty("error_y", new Dictionary<string, object> { ["type"] = "data", ["array"] = err, ["visible"] = true });
            traces.Add(t);
        }
        if (traces.Count == 0) throw new ArgumentException($"ResultCharts.GroupedBars '{title}': no rows");
        var layout = Charts.NewLayout(title, "", yTitle, width, height);
        layout.SetProperty("barmode", "group");
        return Charts.Build(traces, layout);
    }

    /// One bar per label with symmetric error bars (NaN half-widths draw none).
    public static GenericChart BarsWithErrors(string title, IReadOnlyList<string> labels, IReadOnlyList<double> means,
        IReadOnlyList<double> halfWidths, string yTitle = "", int width = Charts.DefaultWidth, int height = Charts.DefaultHeight)
    {
        if (labels.Count != means.Count || labels.Count != halfWidths.Count)
            throw new ArgumentException($"ResultCharts.BarsWithErrors '{title}': {labels.Count} labels, {means.Count} means, {halfWidths.Count} half-widths");
        var t = new Trace("bar");
        t.SetProperty("x", labels.ToArray());
        t.SetProperty("y", means.ToArray());
        t.SetProperty("error_y", new Dictionary<string, object>
            { ["type"] = "data", ["array"] = halfWidths.Select(h => double.IsNaN(h) ? 0.0 : h).ToArray(), ["visible"] = true });
        return Charts.Build([t], Charts.NewLayout(title, "", yTitle, width, height));
    }

    /// Probe cosine against layer, one line per (model, teacher).
    public static GenericChart ProbeCurves(string title, IEnumerable<LayerProbingResult> results,
        int width = Charts.DefaultWidth, int height = Charts.DefaultHeight)
    {
        var traces = new List<Trace>();
        foreach (var r in results)
            foreach (var c in r.Curves)
            {
                var t = new Trace("scatter");
                t.SetProperty("name", $"{r.Model} / {c.Teacher}");
                t.SetProperty("x", c.Layers.Select(l => (double)l).ToArray());
                t.SetProperty("y", c.Cosines.ToArray());
                t.SetProperty("mode", "lines+markers");
                traces.Add(t);
            }
        if (traces.Count == 0) throw new ArgumentException($"ResultCharts.ProbeCurves '{title}': no curves");
        var layout = Charts.NewLayout(title, "", "probe cosine (val)", width, height);
        // Layers are integers: one tick per layer, not 1.2, 1.4, …
        layout.SetProperty("xaxis", new Dictionary<string, object> { ["title"] = new Dictionary<string, object> { ["text"] = "LLM layer" }, ["dtick"] = 1 });
        return Charts.Build(traces, layout);
    }

    /// Bars per variant (labelled "group: variant") for one metric, error bars = t-interval half-widths.
    public static GenericChart Chart(this AblationSweepResult sweep, string metric = "Overall", string title = "Ablations")
    {
        var rows = sweep.Rows(metric).ToList();
        if (rows.Count == 0) throw new ArgumentException($"AblationSweepResult.Chart: no rows for metric '{metric}'");
        return BarsWithErrors($"{title} ({metric})", rows.Select(r => $"{r.Group}: {r.Variant}").ToList(),
            rows.Select(r => r.Mean).ToList(), rows.Select(r => r.HalfWidth).ToList(), $"{metric} accuracy");
    }

    /// Probe quality (x) against accuracy (y), Pearson r in the title.
    public static GenericChart Chart(this CorrelationResult r) =>
        Charts.Scatter($"{r.Teacher}: probe vs {r.Metric}", r.Points.Select(p => p.ProbeScore).ToList(), r.Points.Select(p => p.Accuracy).ToList(),
            $"probe cosine ({(r.Summary == ProbeSummary.BestLayer ? "best layer" : "mean over layers")})", $"{r.Metric} accuracy");
}
