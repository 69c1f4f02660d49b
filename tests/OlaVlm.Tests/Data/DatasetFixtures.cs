using System.Text.Json;
using OlaVlm.Data.Layouts;
using Parquet.Serialization;

namespace OlaVlm.Tests.Data;

/// The hand-made samples under Fixtures/Datasets (environment/fixtures/make_dataset_layouts.py), and copies of them
/// to break in one place or another.
static class DatasetFixtures
{
    public static string Root(string layout) => Path.Combine(Core.Paths.RepoRoot, "tests", "OlaVlm.Tests", "Fixtures", "Datasets", layout);

    /// A private copy of a sample's folder, for tests that damage it.
    public static string Copy(string layout)
    {
        var dst = Path.Combine(Core.Paths.Out, "test-layouts", $"{layout}-{Guid.NewGuid():N}");
        var src = Root(layout);
        foreach (var file in Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(dst, Path.GetRelativePath(src, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        return dst;
    }

    /// CV-Bench's parquet files written from the sample's test.jsonl and img/ with Parquet.Net, in the released
    /// schema: the 2D items in test_2d.parquet, the 3D ones in test_3d.parquet, image bytes in `image.bytes`.
    /// rowsPerGroup splits a file into several row groups (the real files have many).
    public static void WriteCvBenchParquet(string root, int rowsPerGroup = 1, Func<Dictionary<string, object?>, Dictionary<string, object?>>? edit = null)
    {
        var lines = File.ReadAllLines(Path.Combine(root, "test.jsonl")).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        foreach (var (type, name) in new[] { ("2D", "test_2d.parquet"), ("3D", "test_3d.parquet") })
        {
            var rows = lines.Where(e => e.GetProperty("type").GetString() == type).Select(e => Row(e, root)).Select(r => edit?.Invoke(r) ?? r).ToList();
            using var stream = File.Create(Path.Combine(root, name));
            ParquetSerializer.SerializeUntypedAsync(rows.Select(r => (IDictionary<string, object>)r!).ToList(), CvBenchParquet.ReleasedSchema, stream,
                new Parquet.ParquetOptions { RowGroupSize = rowsPerGroup }).GetAwaiter().GetResult();
        }
    }

    /// Hugging Face's Image value. (Parquet.Net's untyped writer takes binary values, and strings inside lists,
    /// as ReadOnlyMemory.)
    public static Dictionary<string, object?> Image(byte[] bytes, string path) =>
        new() { ["bytes"] = new ReadOnlyMemory<byte>(bytes), ["path"] = path };

    static Dictionary<string, object?> Row(JsonElement e, string root)
    {
        string? S(string k) => e.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var filename = S("filename")!;
        return new Dictionary<string, object?>
        {
            ["idx"] = e.GetProperty("idx").GetInt64(), ["type"] = S("type"), ["task"] = S("task"),
            ["image"] = Image(File.ReadAllBytes(Path.Combine(root, filename)), Path.GetFileName(filename)),
            ["question"] = S("question"), ["choices"] = e.GetProperty("choices").EnumerateArray().Select(c => (ReadOnlyMemory<char>?)c.GetString().AsMemory()).ToList(),
            ["answer"] = S("answer"), ["prompt"] = S("prompt"), ["filename"] = filename, ["source"] = S("source"),
            ["source_dataset"] = S("source_dataset"), ["source_filename"] = S("source_filename"), ["target_class"] = S("target_class"),
            ["target_size"] = e.TryGetProperty("target_size", out var ts) && ts.ValueKind == JsonValueKind.Number ? ts.GetInt64() : null,
            ["bbox"] = e.TryGetProperty("bbox", out var b) && b.ValueKind == JsonValueKind.Array
                ? b.EnumerateArray().Select(box => box.EnumerateArray().Select(v => v.GetDouble()).ToList()).ToList() : null,
        };
    }
}
