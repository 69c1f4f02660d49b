using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace OlaRunner;

/// Just enough Markdown for the notebooks' prose in the HTML pages: headings, paragraphs, bullet lists,
/// tables, `code`, **bold**, *italic* and links. Anything else shows as plain text.
static partial class Markdown
{
    public static string ToHtml(string md)
    {
        var html = new StringBuilder();
        var para = new List<string>();
        bool inList = false;
        var lines = md.Replace("\r", "").Split('\n');
        void Flush()
        {
            if (para.Count > 0) html.Append("<p>").Append(Inline(string.Join(" ", para))).Append("</p>\n");
            para.Clear();
            if (inList) { html.Append("</ul>\n"); inList = false; }
        }
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var t = line.Trim();
            if (t.Length == 0) { Flush(); continue; }
            var h = Heading().Match(t);
            if (h.Success) { Flush(); int n = h.Groups[1].Length; html.Append($"<h{n}>{Inline(h.Groups[2].Value)}</h{n}>\n"); continue; }
            if (t.StartsWith('|'))
            {
                Flush();
                html.Append("<table>\n");
                for (; i < lines.Length && lines[i].Trim().StartsWith('|'); i++)
                {
                    var cells = lines[i].Trim().Trim('|').Split('|').Select(c => c.Trim()).ToList();
                    if (cells.All(c => c.Length > 0 && c.All(ch => ch is '-' or ':'))) continue;
                    html.Append("<tr>").Append(string.Concat(cells.Select(c => $"<td>{Inline(c)}</td>"))).Append("</tr>\n");
                }
                i--;
                html.Append("</table>\n");
                continue;
            }
            if (t.StartsWith("- ") || t.StartsWith("* "))
            {
                if (para.Count > 0) { html.Append("<p>").Append(Inline(string.Join(" ", para))).Append("</p>\n"); para.Clear(); }
                if (!inList) { html.Append("<ul>\n"); inList = true; }
                html.Append("<li>").Append(Inline(t[2..])).Append("</li>\n");
                continue;
            }
            if (inList && line.StartsWith("  ")) { html.Length -= "</li>\n".Length; html.Append(' ').Append(Inline(t)).Append("</li>\n"); continue; }
            para.Add(t);
        }
        Flush();
        return html.ToString();
    }

    static string Inline(string s)
    {
        s = WebUtility.HtmlEncode(s);
        s = Code().Replace(s, "<code>$1</code>");
        s = Bold().Replace(s, "<b>$1</b>");
        s = Italic().Replace(s, "<i>$1</i>");
        s = Link().Replace(s, "<a href=\"$2\">$1</a>");
        return s;
    }

    [GeneratedRegex(@"^(#{1,6})\s+(.*)$")] private static partial Regex Heading();
    [GeneratedRegex(@"`([^`]+)`")] private static partial Regex Code();
    [GeneratedRegex(@"\*\*([^*]+)\*\*")] private static partial Regex Bold();
    [GeneratedRegex(@"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])")] private static partial Regex Italic();
    [GeneratedRegex(@"\[([^\]]+)\]\(([^)\s]+)\)")] private static partial Regex Link();
}
