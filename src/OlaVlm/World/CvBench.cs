using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace OlaVlm.World;

/// One CV-Bench item in its own JSONL schema (test.jsonl of nyu-visionx/CV-Bench). `Filename` is relative
/// to the dataset root (the folder holding the .jsonl); extra fields of the real file are ignored.
public sealed record CvBenchItem(
    [property: JsonPropertyName("idx")] int Idx,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("task")] string Task,
    [property: JsonPropertyName("image")] string? Image,
    [property: JsonPropertyName("question")] string Question,
    [property: JsonPropertyName("choices")] IReadOnlyList<string> Choices,
    [property: JsonPropertyName("answer")] string Answer,
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("filename")] string Filename,
    [property: JsonPropertyName("source")] string Source)
{
    /// 0-based index of the correct choice ("(C)" → 2).
    [JsonIgnore] public int AnswerIndex => Answer[1] - 'A';
}

public sealed class CvBenchFormatException(string message) : FormatException(message);

/// Loads CV-Bench JSONL (the real test.jsonl or the world's bench.jsonl). Scoring: Eval.CvBenchScorer.
public static class CvBench
{
    static readonly Regex AnswerRx = new(@"^\([A-Z]\)$", RegexOptions.Compiled);

    /// Reads and validates every line; a bad line throws CvBenchFormatException naming file, line and idx.
    public static List<CvBenchItem> Load(string jsonlPath)
    {
        if (!File.Exists(jsonlPath)) throw new FileNotFoundException($"CV-Bench file not found: '{jsonlPath}'", jsonlPath);
        var items = new List<CvBenchItem>();
        int lineNo = 0;
        IReadOnlyList<string> lines;
        try { lines = Core.StrictText.ReadLines(jsonlPath); }   // invalid UTF-8 is an error naming the line, not a silent U+FFFD
        catch (InvalidDataException e) { throw new CvBenchFormatException(e.Message); }
        foreach (var line in lines)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            items.Add(ParseLine(line, jsonlPath, lineNo));
        }
        var dup = items.GroupBy(i => i.Idx).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new CvBenchFormatException($"'{jsonlPath}': idx {dup.Key} appears {dup.Count()} times");
        return items;
    }

    /// Absolute image path of an item; the filename must stay inside the dataset root.
    public static string ImagePath(string jsonlPath, CvBenchItem item)
    {
        var root = Path.GetFullPath(Path.GetDirectoryName(Path.GetFullPath(jsonlPath))!);
        var full = Path.GetFullPath(Path.Combine(root, item.Filename));
        if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new CvBenchFormatException($"'{jsonlPath}' idx {item.Idx}: filename '{item.Filename}' leaves the dataset root");
        return full;
    }

    static CvBenchItem ParseLine(string line, string file, int lineNo)
    {
        string where = $"'{file}' line {lineNo}";
        JsonElement e;
        try { e = JsonDocument.Parse(line).RootElement; }
        catch (JsonException ex) { throw new CvBenchFormatException($"{where}: not valid JSON ({ex.Message})"); }
        try { return Parse(e, where); }
        catch (InvalidOperationException ex) { throw new CvBenchFormatException($"{where}: {ex.Message}"); }   // e.g. an unpaired \uD800
    }

    /// Validates one item already parsed (a JSONL line, or a parquet row as Data.Layouts.CvBenchParquet reads it);
    /// `where` names the file and line or row in errors.
    internal static CvBenchItem Parse(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new CvBenchFormatException($"{where}: expected a JSON object");

        if (!e.TryGetProperty("idx", out var idxEl) || idxEl.ValueKind != JsonValueKind.Number || !idxEl.TryGetInt32(out int idx))
            throw new CvBenchFormatException($"{where}: 'idx' must be an integer, got {(e.TryGetProperty("idx", out var raw) ? raw.GetRawText() : "nothing")}");
        where += $" (idx {idx})";
        string Str(string key, bool required = true)
        {
            if (!e.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
                return required ? throw new CvBenchFormatException($"{where}: missing '{key}'") : null!;
            return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new CvBenchFormatException($"{where}: '{key}' must be a string, got {v.ValueKind}");
        }
        var type = Str("type");
        if (type != "2D" && type != "3D") throw new CvBenchFormatException($"{where}: 'type' must be \"2D\" or \"3D\", got \"{type}\"");
        if (!e.TryGetProperty("choices", out var ch) || ch.ValueKind != JsonValueKind.Array || ch.GetArrayLength() < 2)
            throw new CvBenchFormatException($"{where}: 'choices' must be an array of at least 2 options");
        var choices = ch.EnumerateArray().Select(c => c.ValueKind switch
        {
            JsonValueKind.String => c.GetString()!,
            JsonValueKind.Number => c.GetRawText(),   // some releases store counts as numbers
            _ => throw new CvBenchFormatException($"{where}: a choice is {c.ValueKind}, expected a string"),
        }).ToList();
        var answer = Str("answer");
        if (!AnswerRx.IsMatch(answer) || answer[1] - 'A' >= choices.Count)
            throw new CvBenchFormatException($"{where}: 'answer' must be \"(A)\"..\"({Questions.Letter(choices.Count - 1)})\", got \"{answer}\"");
        var filename = Str("filename");
        if (filename.Length == 0 || Path.IsPathRooted(filename)) throw new CvBenchFormatException($"{where}: 'filename' must be a relative path, got \"{filename}\"");
        string? image = e.TryGetProperty("image", out var im) && im.ValueKind == JsonValueKind.String ? im.GetString() : null;
        return new CvBenchItem(idx, type, Str("task"), image, Str("question"), choices, answer, Str("prompt"), filename, Str("source"));
    }
}
