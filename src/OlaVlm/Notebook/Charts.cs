using Microsoft.FSharp.Collections;
using Plotly.NET;

namespace OlaVlm.Notebook;

/// A few chart shapes the notebooks need, built fresh on every call.
///
/// Why not Plotly.NET's Chart.* style functions directly: their C# surface takes F# option types, and
/// the styling functions mutate layout objects in place, so a layout shared between two charts
/// changes both. Here every chart gets its own Trace/Layout/Config objects, filled with plain
/// plotly.js attribute names (https://plotly.com/javascript/reference/ spells them the same way).
/// Any Plotly.NET GenericChart displays through the offline formatter, these or hand-made.
public static class Charts
{
    public const int DefaultWidth = 720, DefaultHeight = 400;

    /// One line per series over shared x values (e.g. loss curves: x = steps).
    public static GenericChart Line(string title, IReadOnlyList<double> x, IEnumerable<(string Name, IReadOnlyList<double> Y)> series,
        string xTitle = "", string yTitle = "", int width = DefaultWidth, int height = DefaultHeight)
    {
        var traces = new List<Trace>();
        foreach (var (name, y) in series)
        {
            if (y.Count != x.Count)
                throw new ArgumentException($"Charts.Line '{title}': series '{name}' has {y.Count} values but x has {x.Count}.");
            traces.Add(NewTrace("scatter", ("x", x.ToArray()), ("y", y.ToArray()), ("mode", "lines"), ("name", name)));
        }
        if (traces.Count == 0) throw new ArgumentException($"Charts.Line '{title}': no series given.");
        return Build(traces, NewLayout(title, xTitle, yTitle, width, height));
    }

    /// One line: y against x.
    public static GenericChart Line(string title, IReadOnlyList<double> x, IReadOnlyList<double> y,
        string xTitle = "", string yTitle = "", int width = DefaultWidth, int height = DefaultHeight) =>
        Line(title, x, [(yTitle == "" ? "y" : yTitle, y)], xTitle, yTitle, width, height);

    /// Bars with category labels.
    public static GenericChart Bar(string title, IReadOnlyList<string> labels, IReadOnlyList<double> values,
        string xTitle = "", string yTitle = "", int width = DefaultWidth, int height = DefaultHeight)
    {
        if (labels.Count != values.Count)
            throw new ArgumentException($"Charts.Bar '{title}': {labels.Count} labels but {values.Count} values.");
        var trace = NewTrace("bar", ("x", labels.ToArray()), ("y", values.ToArray()));
        return Build([trace], NewLayout(title, xTitle, yTitle, width, height));
    }

    /// Points y against x; the title gets Pearson's r (how well one quantity tracks the other).
    public static GenericChart Scatter(string title, IReadOnlyList<double> x, IReadOnlyList<double> y,
        string xTitle = "", string yTitle = "", int width = DefaultWidth, int height = DefaultHeight)
    {
        // r needs 3+ points and two non-constant series; a chart of anything else just says so.
        var r = x.Count >= 3 && x.Count == y.Count && x.Distinct().Count() > 1 && y.Distinct().Count() > 1
            ? Eval.Stats.Pearson(x, y).R.ToString("F3") : "n/a";
        var trace = NewTrace("scatter", ("x", x.ToArray()), ("y", y.ToArray()), ("mode", "markers"), ("name", "points"));
        return Build([trace], NewLayout($"{title} (Pearson r = {r}, n = {x.Count})", xTitle, yTitle, width, height));
    }

    /// A matrix as a heatmap, row 0 at the top (how attention maps and confusion matrices are read).
    public static GenericChart Heatmap(string title, double[,] z, IReadOnlyList<string>? rowLabels = null,
        IReadOnlyList<string>? columnLabels = null, int width = DefaultWidth, int height = DefaultHeight)
    {
        int rows = z.GetLength(0), cols = z.GetLength(1);
        if (rowLabels != null && rowLabels.Count != rows)
            throw new ArgumentException($"Charts.Heatmap '{title}': {rowLabels.Count} row labels for {rows} rows.");
        if (columnLabels != null && columnLabels.Count != cols)
            throw new ArgumentException($"Charts.Heatmap '{title}': {columnLabels.Count} column labels for {cols} columns.");
        var jagged = new double[rows][];
        for (int i = 0; i < rows; i++)
        {
            jagged[i] = new double[cols];
            for (int j = 0; j < cols; j++) jagged[i][j] = z[i, j];
        }
        var props = new List<(string, object)> { ("z", jagged), ("colorscale", "Viridis") };
        if (rowLabels != null) props.Add(("y", rowLabels.ToArray()));
        if (columnLabels != null) props.Add(("x", columnLabels.ToArray()));
        var layout = NewLayout(title, "", "", width, height);
        layout.SetProperty("yaxis", new Dictionary<string, object> { ["autorange"] = "reversed" });
        return Build([NewTrace("heatmap", [.. props])], layout);
    }

    /// Writes a self-contained HTML page (plotly.js inlined) and returns its path.
    public static string SaveHtml(GenericChart chart, string path, string title = "chart")
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, PlotlyHtml.StandalonePage(chart, title));
        return path;
    }

    static Trace NewTrace(string type, params (string Key, object Value)[] props)
    {
        var trace = new Trace(type);
        foreach (var (k, v) in props) trace.SetProperty(k, v);
        return trace;
    }

    /// A fresh layout with a title, axis titles and size (shared by the library's other chart builders).
    internal static Layout NewLayout(string title, string xTitle, string yTitle, int width, int height)
    {
        var layout = new Layout();
        layout.SetProperty("title", new Dictionary<string, object> { ["text"] = title });
        if (xTitle != "") layout.SetProperty("xaxis", new Dictionary<string, object> { ["title"] = new Dictionary<string, object> { ["text"] = xTitle } });
        if (yTitle != "") layout.SetProperty("yaxis", new Dictionary<string, object> { ["title"] = new Dictionary<string, object> { ["text"] = yTitle } });
        layout.SetProperty("width", width);
        layout.SetProperty("height", height);
        return layout;
    }

    internal static GenericChart Build(IEnumerable<Trace> traces, Layout layout) =>
        GenericChart.NewMultiChart(ListModule.OfSeq(traces), layout, new Config(), new DisplayOptions());
}
