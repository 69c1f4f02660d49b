using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Data.Analysis;

namespace OlaVlm.Notebook;

/// DataFrame as an HTML table. Microsoft.Data.Analysis ships a kernel extension with a formatter, but
/// whether a host loads it differs (Jupyter/VS Code load package extensions on `#r "nuget:..."`, an
/// in-process runner may not), so Setup registers this one everywhere: the same table in every host.
public static class DataFrameHtml
{
    /// Research tables (a probe grid: models × seeds × teachers) run to ~100 rows and are read whole; the cap only
    /// keeps an accidental million-row frame from flooding the notebook.
    public const int DefaultMaxRows = 200;

    public static string Table(DataFrame df, int maxRows = DefaultMaxRows)
    {
        long rows = df.Rows.Count;
        int cols = df.Columns.Count;
        var sb = new StringBuilder();
        sb.Append("<table class=\"ola-dataframe\"><thead><tr><th></th>");
        for (int j = 0; j < cols; j++)
            sb.Append("<th title=\"").Append(Enc(df.Columns[j].DataType.Name)).Append("\">").Append(Enc(df.Columns[j].Name)).Append("</th>");
        sb.Append("</tr></thead><tbody>");
        long shown = Math.Min(rows, maxRows);
        for (long i = 0; i < shown; i++)
        {
            sb.Append("<tr><td><i>").Append(i).Append("</i></td>");
            for (int j = 0; j < cols; j++) sb.Append("<td>").Append(Enc(Cell(df.Columns[j][i]))).Append("</td>");
            sb.Append("</tr>");
        }
        sb.Append("</tbody></table>");
        sb.Append("<p><small>").Append(rows).Append(" rows × ").Append(cols).Append(" columns");
        if (shown < rows) sb.Append(" (first ").Append(shown).Append(" shown)");
        sb.Append("</small></p>");
        return sb.ToString();
    }

    static string Cell(object? v) => v switch
    {
        null => "null",
        float f => f.ToString("G6", CultureInfo.InvariantCulture),
        double d => d.ToString("G6", CultureInfo.InvariantCulture),
        IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    static string Enc(string s) => WebUtility.HtmlEncode(s);
}
