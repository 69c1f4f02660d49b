using System.Text;
using System.Text.Json;
using OlaVlm.World;

namespace OlaVlm.Data.Layouts;

/// One CV-Bench item with every field of the release: the scored fields (CvBenchItem) and the provenance ones.
/// TargetClass / TargetSize are set for COCO items, Bbox (boxes as [x1, y1, x2, y2]) for Omni3D items.
public sealed record CvBenchRow(CvBenchItem Item, string? SourceDataset, string? SourceFilename, string? TargetClass,
                                double? TargetSize, double[][]? Bbox);

/// CV-Bench as released (nyu-visionx/CV-Bench): `test.jsonl` (or, in the later release, `test_2d.jsonl` and
/// `test_3d.jsonl`) beside `img/`, whose `filename` fields name the images (`img/2D/count/ade20k_10.png`).
/// Lines are read as bytes and checked as strict UTF-8 (a text reader would quietly put U+FFFD in their place).
public static class CvBenchRelease
{
    public static readonly string[] JsonlNames = ["test.jsonl", "test_2d.jsonl", "test_3d.jsonl"];
    static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// The annotation files present under `root`: test.jsonl, else test_2d.jsonl + test_3d.jsonl.
    public static IReadOnlyList<string> JsonlFiles(string root)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"CV-Bench folder not found: '{root}'");
        var single = Path.Combine(root, JsonlNames[0]);
        if (File.Exists(single)) return [single];
        var split = JsonlNames[1..].Select(n => Path.Combine(root, n)).Where(File.Exists).ToList();
        return split.Count > 0 ? split : throw new FileNotFoundException($"CV-Bench: none of {string.Join(", ", JsonlNames)} in '{root}'");
    }

    /// Every item of the release under `root`, checked (CvBench's rules, unique idx, image file present unless
    /// CheckImages is off). A bad line stops with an error naming file, line and idx, or is skipped and counted.
    public static (List<CvBenchRow> Rows, SkipReport Skips) Load(string root, LayoutOptions? options = null)
    {
        options ??= new LayoutOptions();
        var files = JsonlFiles(root);
        var skips = new SkipReport(string.Join(" + ", files));
        var rows = new List<CvBenchRow>();
        foreach (var file in files)
        {
            long lineNo = 0;
            foreach (var bytes in Lines(file))
            {
                lineNo++;
                if (bytes.AsSpan().Trim((byte)' ').Trim((byte)'\r').IsEmpty) continue;
                string where = $"'{file}' line {lineNo}";
                try { rows.Add(Check(ParseLine(bytes, where), file, where, options.CheckImages)); }
                catch (CvBenchFormatException e) when (options.Policy == MalformedRecordPolicy.SkipAndReport)
                { skips.Add((int)lineNo, null, e.Message); }
            }
        }
        var dup = rows.GroupBy(r => r.Item.Idx).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new CvBenchFormatException($"CV-Bench under '{root}': idx {dup.Key} appears {dup.Count()} times");
        return (rows, skips);
    }

    static CvBenchRow ParseLine(byte[] bytes, string where)
    {
        try { StrictUtf8.GetCharCount(bytes); }
        catch (DecoderFallbackException bad) { throw new CvBenchFormatException($"{where}: invalid UTF-8 at byte {bad.Index} of the line"); }
        JsonElement e;
        try { e = JsonDocument.Parse(bytes).RootElement; }
        catch (JsonException ex) { throw new CvBenchFormatException($"{where}: not valid JSON ({ex.Message})"); }
        return FromJson(e, where);
    }

    /// The scored fields through CvBench's checks, then the provenance fields (absent or null: null).
    internal static CvBenchRow FromJson(JsonElement e, string where)
    {
        var item = CvBench.Parse(e, where);
        where += $" (idx {item.Idx})";
        string? Str(string key) => !e.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null ? null
            : v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText();
        double? size = e.TryGetProperty("target_size", out var s) && s.ValueKind != JsonValueKind.Null
            ? (s.TryGetDouble(out var d) ? d : throw new CvBenchFormatException($"{where}: 'target_size' must be a number, got {s.ValueKind}")) : null;
        return new CvBenchRow(item, Str("source_dataset"), Str("source_filename"), Str("target_class"), size, Boxes(e, where));
    }

    /// bbox as released: null, one box [x1, y1, x2, y2], or a list of boxes.
    static double[][]? Boxes(JsonElement e, string where)
    {
        if (!e.TryGetProperty("bbox", out var b) || b.ValueKind == JsonValueKind.Null) return null;
        double[] Box(JsonElement box) => box.ValueKind == JsonValueKind.Array && box.EnumerateArray().All(v => v.ValueKind == JsonValueKind.Number)
            ? box.EnumerateArray().Select(v => v.GetDouble()).ToArray()
            : throw new CvBenchFormatException($"{where}: 'bbox' must be a box of numbers or a list of such boxes, got {box.GetRawText()}");
        if (b.ValueKind != JsonValueKind.Array) throw new CvBenchFormatException($"{where}: 'bbox' must be an array, got {b.ValueKind}");
        return b.EnumerateArray().All(v => v.ValueKind == JsonValueKind.Number) ? [Box(b)] : b.EnumerateArray().Select(Box).ToArray();
    }

    /// The item's image (its `filename`, inside the release folder) must exist.
    static CvBenchRow Check(CvBenchRow row, string jsonl, string where, bool checkImage)
    {
        if (!checkImage) return row;
        var path = CvBench.ImagePath(jsonl, row.Item);
        return File.Exists(path) ? row : throw new CvBenchFormatException($"{where} (idx {row.Item.Idx}): image file missing: '{path}'");
    }

    /// The file's lines as raw bytes ('\n'-separated, a trailing '\r' dropped).
    static IEnumerable<byte[]> Lines(string file)
    {
        using var f = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        var line = new List<byte>(4096);
        int b;
        bool start = true;
        while ((b = f.ReadByte()) >= 0)
        {
            if (b != '\n') { line.Add((byte)b); continue; }
            yield return Strip(line, ref start);
            line.Clear();
        }
        if (line.Count > 0) yield return Strip(line, ref start);
    }

    static byte[] Strip(List<byte> line, ref bool start)
    {
        int from = start && line.Count >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF ? 3 : 0;   // byte-order mark
        start = false;
        int to = line.Count > from && line[^1] == '\r' ? line.Count - 1 : line.Count;
        return line.GetRange(from, to - from).ToArray();
    }
}
