using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive.Formatting;
using OlaVlm.Notebook;

namespace OlaVlm.Tests.Notebook;

// One class: the tests that use the kernel-wide PlotlyHtml.Session / Formatter run one after another.
public class OfflinePlotlyTests
{
    const string PlotlyJsBanner = "* plotly.js v";

    static int Count(string text, string what) => Regex.Matches(text, Regex.Escape(what)).Count;

    static Plotly.NET.GenericChart Loss(int width = Charts.DefaultWidth) =>
        Charts.Line("loss", [0, 1, 2], [("train", [3.0, 2.0, 1.5]), ("eval", [3.1, 2.2, 1.9])], "step", "loss", width: width);

    [Fact]
    public void Two_charts_carry_plotly_js_once_and_no_remote_urls()
    {
        var session = new PlotlyHtml();
        var first = session.Render(Loss());
        var second = session.Render(Charts.Bar("counts", ["a", "b"], [1, 2]));
        var both = first + second;

        Assert.Equal(1, Count(both, PlotlyJsBanner));
        Assert.Contains(PlotlyJsBanner, first);
        Assert.DoesNotContain(PlotlyJsBanner, second);
        // plotly.js itself mentions URLs (map tiles, docs); everything we add around it must not.
        var ours = both.Replace(PlotlyHtml.PlotlyJs, "");
        Assert.DoesNotMatch("https?://", ours);
        Assert.DoesNotMatch("<script[^>]*src=", both);
        // Each chart: its own div and a newPlot call for that div.
        var ids = Regex.Matches(both, "<div id=\"(ola-plot-[0-9a-f]{32})\">").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(2, ids.Distinct().Count());
        foreach (var id in ids) Assert.Contains($"Plotly.newPlot('{id}'", both);
        // require.js pages: define is hidden while plotly.js runs and restored after.
        Assert.Matches(@"window\.define = undefined;[\s\S]*plotly\.js v[\s\S]*window\.define = savedDefine", first);
    }

    [Fact]
    public void Same_chart_twice_gets_two_div_ids_and_reset_inlines_again()
    {
        var session = new PlotlyHtml();
        var chart = Loss();
        var a = session.Render(chart);
        var b = session.Render(chart);
        Assert.NotEqual(Regex.Match(a, "ola-plot-[0-9a-f]+").Value, Regex.Match(b, "ola-plot-[0-9a-f]+").Value);
        Assert.True(session.PlotlyJsSent);
        session.Reset();
        Assert.Contains(PlotlyJsBanner, session.Render(chart));
    }

    [Fact]
    public void After_setup_the_formatter_renders_charts_as_offline_html()
    {
        Setup.Run();
        Assert.False(PlotlyHtml.Session.PlotlyJsSent);
        var html1 = Formatter.ToDisplayString(Loss(), HtmlFormatter.MimeType);
        var html2 = Formatter.ToDisplayString(Charts.Scatter("s", [1, 2, 3], [2, 4, 7]), HtmlFormatter.MimeType);
        Assert.Equal(1, Count(html1 + html2, PlotlyJsBanner));
        Assert.Contains("ola-plot-", html2);
        Assert.DoesNotMatch("https?://", (html1 + html2).Replace(PlotlyHtml.PlotlyJs, ""));
        // A second notebook (Setup.Run again) carries plotly.js again in its first chart.
        Setup.Run();
        Assert.Contains(PlotlyJsBanner, Formatter.ToDisplayString(Loss(), HtmlFormatter.MimeType));
    }

    [Fact]
    public void Charts_do_not_share_layouts()
    {
        var narrow = Plotly.NET.GenericChart.toFigureJson(Loss(width: 300));
        var wide = Plotly.NET.GenericChart.toFigureJson(Loss());
        Assert.Contains("\"width\":300", narrow);
        Assert.Contains($"\"width\":{Charts.DefaultWidth}", wide);
    }

    [Fact]
    public void Text_that_would_close_the_script_is_escaped()
    {
        var html = PlotlyHtml.ChartFragment(Charts.Bar("</script><b>x</b> <!-- y", ["a"], [1]));
        Assert.Equal(1, Count(html.ToLowerInvariant(), "</script"));
        Assert.DoesNotContain("<!--", html);
    }

    [Fact]
    public void Plotly_js_version_comes_from_the_package() =>
        Assert.Equal("2.28.0", PlotlyHtml.PlotlyJsVersion);

    [Fact]
    public void Bad_chart_input_names_the_chart()
    {
        var e = Assert.Throws<ArgumentException>(() => Charts.Line("my loss", [0, 1, 2], [("train", [1.0, 2.0])]));
        Assert.Contains("my loss", e.Message);
        Assert.Contains("train", e.Message);
        Assert.Throws<ArgumentException>(() => Charts.Bar("b", ["a", "b"], [1]));
    }
}
