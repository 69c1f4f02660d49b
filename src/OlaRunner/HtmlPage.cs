using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace OlaRunner;

/// One standalone page per executed notebook: markdown cells as text and every rich output (charts,
/// tables, pictures) in order, viewable offline in any browser — plotly.js is inlined by the
/// library's chart formatter, so nothing is fetched from the network.
static class HtmlPage
{
    public static void Write(JsonNode doc, string title, string path)
    {
        var body = new StringBuilder();
        int code = 0;
        foreach (var cell in (doc["cells"]?.AsArray() ?? []).OfType<JsonObject>())
        {
            var kind = (string?)cell["cell_type"];
            if (kind == "markdown")
            {
                body.Append("<div class=\"md\">").Append(Markdown.ToHtml(Source(cell))).Append("</div>\n");
                continue;
            }
            if (kind != "code") continue;
            code++;
            foreach (var o in (cell["outputs"]?.AsArray() ?? []).OfType<JsonObject>())
            {
                var data = o["data"] as JsonObject;
                if (data?["text/html"] is JsonNode html)
                    body.Append($"<section data-cell=\"{code}\">").Append((string?)html).Append("</section>\n");
                else if ((string?)o["output_type"] == "stream")
                    body.Append($"<pre data-cell=\"{code}\">").Append(WebUtility.HtmlEncode((string?)o["text"] ?? "")).Append("</pre>\n");
                else if ((string?)o["output_type"] == "error")
                    body.Append($"<pre class=\"error\" data-cell=\"{code}\">").Append(WebUtility.HtmlEncode((string?)o["evalue"] ?? "")).Append("</pre>\n");
                else if (data?["text/plain"] is JsonNode plain)
                    body.Append($"<pre data-cell=\"{code}\">").Append(WebUtility.HtmlEncode((string?)plain ?? "")).Append("</pre>\n");
            }
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, $"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{WebUtility.HtmlEncode(title)}</title>" +
            "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}pre{background:#f6f6f6;padding:6px;white-space:pre-wrap}" +
            "pre.error{color:#b00}code{background:#f2f2f2;padding:0 3px}table{border-collapse:collapse}td{border:1px solid #ddd;padding:2px 6px}</style></head><body>\n" + body + "</body></html>\n");
    }

    static string Source(JsonObject cell) => cell["source"] switch
    {
        JsonArray lines => string.Concat(lines.Select(l => (string?)l)),
        JsonValue v => (string?)v ?? "",
        _ => "",
    };
}
