using System.Text.Json;
using OlaVlm.World;

namespace OlaVlm.Data.Layouts;

/// Random access to the records of a released LLaVA JSON without holding them: one streamed pass (LlavaLayout.Records,
/// every record checked against the layout, image files included) keeps only where each good record lies in the file
/// (12 bytes a record: 8 MB for the 665K mix); Record(i) reads and parses that one element again. What training
/// needs — record i of a seeded permutation, for any i, in any process — without a 1 GB file in memory.
public sealed class LlavaRecordIndex : IDisposable
{
    readonly long[] _offsets;
    readonly int[] _lengths, _positions;
    readonly FileStream _file;
    readonly object _lock = new();

    public LlavaLayout Layout { get; }
    public string JsonPath { get; }
    public string ImageRoot { get; }
    /// Records the layout check left out (under SkipAndReport; empty otherwise).
    public SkipReport Skips { get; }
    public int Count => _offsets.Length;
    public int ImageCount { get; }

    LlavaRecordIndex(LlavaLayout layout, string root, List<(long Offset, int Length, int Position)> kept, int images, SkipReport skips)
    {
        Layout = layout;
        JsonPath = layout.JsonPath(root);
        ImageRoot = layout.ImageRootPath(root);
        Skips = skips;
        _offsets = kept.Select(r => r.Offset).ToArray();
        _lengths = kept.Select(r => r.Length).ToArray();
        _positions = kept.Select(r => r.Position).ToArray();
        ImageCount = images;
        _file = new FileStream(JsonPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 12, FileOptions.RandomAccess);
    }

    /// Streams the layout under `root` once (options: skip policy, image-file checks, MaxRecords for a subset).
    /// A file without any usable record is an error naming it.
    public static LlavaRecordIndex Build(LlavaLayout layout, string root, LayoutOptions? options = null)
    {
        var skips = new SkipReport(layout.JsonPath(root));
        var kept = new List<(long, int, int)>();
        int images = 0;
        foreach (var r in layout.Records(root, options, skips))
        {
            kept.Add((r.Offset, r.Length, r.Index));   // where it is, not what it says
            if (r.Record.HasImage) images++;
        }
        if (kept.Count == 0) throw new InvalidDataException($"{layout.Name}: no usable record in '{layout.JsonPath(root)}' ({skips})");
        return new LlavaRecordIndex(layout, root, kept, images, skips);
    }

    /// The layout whose JSON file is under `root`, among `candidates` (the first whose file exists).
    public static LlavaLayout Detect(string root, params LlavaLayout[] candidates) =>
        candidates.FirstOrDefault(l => File.Exists(l.JsonPath(root)))
        ?? throw new FileNotFoundException($"no LLaVA dataset under '{root}': looked for {string.Join(", ", candidates.Select(l => l.JsonFile))}");

    /// Record i (0 ≤ i < Count), read again from the file and checked as when indexed.
    public LlavaRecord Record(int i)
    {
        if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(i), i, $"{JsonPath}: {Count} records");
        var bytes = new byte[_lengths[i]];
        lock (_lock)
        {
            _file.Position = _offsets[i];
            _file.ReadExactly(bytes);
        }
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            return LlavaDataset.Parse(doc.RootElement, out _);
        }
        catch (Exception e) when (e is JsonException or LlavaFormatException)
        {
            throw new LlavaFormatException($"'{JsonPath}' record {_positions[i]}: changed since it was indexed ({e.Message})");
        }
    }

    /// Where record i sits in the released file (its 0-based position in the JSON array), for error messages.
    public int Position(int i) => _positions[i];

    /// Absolute path of an image named by a record.
    public string ImagePath(string image) => Path.GetFullPath(Path.Combine(ImageRoot, image.Replace('\\', '/')));

    public void Dispose() => _file.Dispose();
}
