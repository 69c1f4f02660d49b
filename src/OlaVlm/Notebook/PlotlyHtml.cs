using System.Text;
using Plotly.NET;

namespace OlaVlm.Notebook;

/// Turns Plotly.NET charts into HTML that draws without network access.
///
/// Why not Plotly.NET's own output: it points the page at a CDN copy of plotly.js (and of require.js), so
/// offline (CI, air-gapped machines, nbconvert HTML opened later) every chart is blank. Plotly.NET 6.0.0
/// carries plotly.js 2.28.0 as an embedded resource; the first chart after Setup.Run() (i.e. of each
/// notebook) inlines it, later charts only emit their div and a Plotly.newPlot call, so a notebook with
/// twenty charts carries plotly.js (3.6 MB) once, in its first chart's output.
public sealed class PlotlyHtml
{
    /// The process-wide instance used by the notebook formatter; Setup.Run() resets it.
    public static PlotlyHtml Session { get; } = new();

    bool _plotlyJsSent;
    readonly object _gate = new();

    /// True once a chart carrying plotly.js has been rendered by this instance.
    public bool PlotlyJsSent { get { lock (_gate) return _plotlyJsSent; } }

    /// Makes the next chart inline plotly.js again, e.g. after clearing the output that carried it.
    public void Reset() { lock (_gate) _plotlyJsSent = false; }

    /// HTML for one chart: plotly.js the first time, then a fresh div and the drawing script.
    public string Render(GenericChart chart)
    {
        bool withLibrary;
        lock (_gate) { withLibrary = !_plotlyJsSent; _plotlyJsSent = true; }
        var sb = new StringBuilder();
        if (withLibrary) sb.Append(LibraryScript());
        sb.Append(ChartFragment(chart));
        return sb.ToString();
    }

    /// A complete offline page (for saving charts under out/): plotly.js inlined, no network needed.
    public static string StandalonePage(GenericChart chart, string title = "chart") =>
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + System.Net.WebUtility.HtmlEncode(title) +
        "</title></head><body>\n" + LibraryScript() + ChartFragment(chart) + "</body></html>\n";

    /// The div + script of one chart. Every call gets a new div id: re-running a cell (or displaying the
    /// same chart twice) must not draw into an older output's div.
    public static string ChartFragment(GenericChart chart)
    {
        var id = "ola-plot-" + Guid.NewGuid().ToString("N");
        var figure = EscapeForScript(GenericChart.toFigureJson(chart));
        // If plotly.js is not there yet (outputs rendered out of order), wait for it a little.
        return $$"""
<div id="{{id}}"></div>
<script type="text/javascript">
(function () {
  var fig = {{figure}};
  function draw() { window.Plotly.newPlot('{{id}}', fig.data, fig.layout || {}, fig.config || {}); }
  if (window.Plotly) { draw(); return; }
  var tries = 0;
  var timer = setInterval(function () {
    if (window.Plotly) { clearInterval(timer); draw(); }
    else if (++tries > 100) {
      clearInterval(timer);
      var el = document.getElementById('{{id}}');
      if (el) el.textContent = 'plotly.js is not loaded on this page: run OlaVlm.Notebook.PlotlyHtml.Session.Reset() and re-run this cell.';
    }
  }, 50);
})();
</script>

""";
    }

    /// plotly.js wrapped so that it sets window.Plotly even on pages with require.js (Jupyter):
    /// with an AMD `define` present, plotly.js would register an anonymous module instead (and require.js
    /// reports "Mismatched anonymous define()"), so `define` is hidden while it runs and restored after.
    public static string LibraryScript() =>
        "<script type=\"text/javascript\">\n(function () {\n  var savedDefine = window.define;\n  window.define = undefined;\n  try {\n" +
        PlotlyJs +
        "\n  } finally { window.define = savedDefine; }\n}).call(window);\n</script>\n";

    /// plotly.min.js as embedded in the Plotly.NET assembly (with `</script` made safe for inline use).
    public static string PlotlyJs => _plotlyJs.Value;
    static readonly Lazy<string> _plotlyJs = new(LoadPlotlyJs);

    /// The plotly.js version carried by Plotly.NET, read from the resource name.
    public static string PlotlyJsVersion => ResourceName()["Plotly.NET.plotly-".Length..^".min.js".Length];

    static string ResourceName() =>
        typeof(GenericChart).Assembly.GetManifestResourceNames()
            .FirstOrDefault(n => n.StartsWith("Plotly.NET.plotly-", StringComparison.Ordinal) && n.EndsWith(".min.js", StringComparison.Ordinal))
        ?? throw new InvalidOperationException(
            $"No plotly-*.min.js resource in {typeof(GenericChart).Assembly.Location}: offline charts need the plotly.js that Plotly.NET embeds.");

    static string LoadPlotlyJs()
    {
        var name = ResourceName();
        using var stream = typeof(GenericChart).Assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return EscapeForScript(reader.ReadToEnd());
    }

    /// Inside a <script> element the HTML parser ends the script at the first "</script" (any case) and
    /// treats "<!--" specially, wherever they are. "<\/" and "<\!" mean the same as "</" and "<!" inside
    /// JavaScript strings, regular expressions and JSON strings, the only places such text can occur.
    /// (plotly.js 2.28.0 contains neither; chart titles and labels might.)
    public static string EscapeForScript(string js) =>
        System.Text.RegularExpressions.Regex.Replace(js, "</(?=script)|<!(?=--)", m => m.Value[0] + "\\" + m.Value[1],
            System.Text.RegularExpressions.RegexOptions.IgnoreCase);
}
