using System.Collections;
using System.Text.Json;
using Parquet;
using Parquet.Schema;
using Parquet.Serialization;
using OlaVlm.World;

namespace OlaVlm.Data.Layouts;

/// One CV-Bench parquet row: the item and its image as the encoded bytes the file carries (PNG).
public sealed record CvBenchImageRow(CvBenchRow Row, byte[] Image);

/// CV-Bench's parquet files (test_2d.parquet, test_3d.parquet; earlier test.parquet): the JSONL fields as
/// columns plus `image`, Hugging Face's Image feature, a struct of the encoded `bytes` and the source `path`.
/// Read one row group at a time (the two files are 185 and 220 MB, nearly all image bytes).
public static class CvBenchParquet
{
    public static readonly string[] FileNames = ["test_2d.parquet", "test_3d.parquet", "test.parquet"];

    /// The released schema as Hugging Face datasets writes it (Image → struct<bytes: binary, path: string>,
    /// Sequence(string) → list<string>). Nullable columns are the per-source ones.
    public static ParquetSchema ReleasedSchema { get; } = new(
        new DataField<long>("idx"), new DataField<string>("type"), new DataField<string>("task"),
        new StructField("image", new DataField<byte[]>("bytes"), new DataField<string>("path")),
        new DataField<string>("question"), new ListField("choices", new DataField<string>("element")),
        new DataField<string>("answer"), new DataField<string>("prompt"), new DataField<string>("filename"),
        new DataField<string>("source"), new DataField<string>("source_dataset"), new DataField<string>("source_filename"),
        new DataField<string>("target_class"), new DataField<long?>("target_size"),
        new ListField("bbox", new ListField("element", new DataField<double>("element"))));

    /// Columns without which an item cannot be scored; a file missing one is not CV-Bench.
    static readonly string[] Required = ["idx", "type", "task", "image", "question", "choices", "answer", "prompt", "filename", "source"];

    /// The parquet files present under `root`, in FileNames order.
    public static IReadOnlyList<string> Files(string root) => FileNames.Select(n => Path.Combine(root, n)).Where(File.Exists).ToList() is { Count: > 0 } f
        ? f : throw new FileNotFoundException($"CV-Bench: none of {string.Join(", ", FileNames)} in '{root}'");

    /// Every row of one file, row group by row group, checked as the JSONL items are; an image must be non-empty.
    /// Errors name the file, the row (0-based over the file) and the idx; under SkipAndReport bad rows are counted.
    public static IEnumerable<CvBenchImageRow> Read(string file, LayoutOptions? options = null, SkipReport? skips = null)
    {
        options ??= new LayoutOptions();
        if (!File.Exists(file)) throw new FileNotFoundException($"CV-Bench parquet file not found: '{file}'", file);
        if (options.Policy == MalformedRecordPolicy.SkipAndReport && skips is null)
            throw new ArgumentException("CvBenchParquet: SkipAndReport needs a SkipReport to count what it leaves out", nameof(skips));
        return ReadCore(file, options, skips);
    }

    static IEnumerable<CvBenchImageRow> ReadCore(string file, LayoutOptions options, SkipReport? skips)
    {
        using var stream = File.OpenRead(file);
        int groups = RowGroups(stream, file);
        int row = 0;
        for (int g = 0; g < groups; g++)
        {
            stream.Position = 0;
            var data = Run(() => ParquetSerializer.DeserializeUntypedAsync(stream, null, g), file).Data;
            foreach (var values in data)
            {
                string where = $"'{file}' row {row}";
                CvBenchImageRow? parsed = null;
                try { parsed = Parse(values, where); }
                catch (CvBenchFormatException e) when (options.Policy == MalformedRecordPolicy.SkipAndReport) { skips!.Add(row, null, e.Message); }
                if (parsed is not null) yield return parsed;
                row++;
            }
        }
    }

    /// Checks the schema has the scored columns; returns the number of row groups.
    static int RowGroups(Stream stream, string file)
    {
        var reader = Run(() => ParquetReader.CreateAsync(stream, leaveStreamOpen: true), file);
        try
        {
            var names = reader.Schema.Fields.Select(f => f.Name).ToHashSet();
            var missing = Required.Where(c => !names.Contains(c)).ToList();
            if (missing.Count > 0) throw new CvBenchFormatException($"'{file}': missing column(s) {string.Join(", ", missing)} (has {string.Join(", ", names)})");
            return reader.RowGroupCount;
        }
        finally { reader.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }

    static CvBenchImageRow Parse(IDictionary<string, object> values, string where)
    {
        var plain = values.ToDictionary(kv => kv.Key, kv => Plain(kv.Value));
        var image = plain.GetValueOrDefault("image") as Dictionary<string, object?>;
        plain["image"] = image?.GetValueOrDefault("path") as string;
        using var doc = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(plain));
        var row = CvBenchRelease.FromJson(doc.RootElement, where);
        var bytes = image?.GetValueOrDefault("bytes") as byte[];
        if (bytes is null || bytes.Length == 0) throw new CvBenchFormatException($"{where} (idx {row.Item.Idx}): 'image' has no bytes");
        return new CvBenchImageRow(row, bytes);
    }

    /// Parquet.Net's untyped values as JSON-ready ones: its string and binary views (ReadOnlyMemory, unless the
    /// process-wide ParquetOptions.PreferUntyped* switches are set) become string / byte[], lists (of lists) arrays.
    static object? Plain(object? v) => v switch
    {
        null or string or byte[] => v,
        ReadOnlyMemory<char> m => m.ToString(),
        ReadOnlyMemory<byte> m => m.ToArray(),
        IDictionary d => d.Keys.Cast<object>().ToDictionary(k => k.ToString()!, k => Plain(d[k])),
        IEnumerable e => e.Cast<object?>().Select(Plain).ToList(),
        _ => v,
    };

    /// Parquet.Net is asynchronous only; readers here are synchronous, like the rest of the data code.
    /// A file that is not parquet comes back as one error naming it.
    static T Run<T>(Func<Task<T>> f, string file)
    {
        try { return f().GetAwaiter().GetResult(); }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException)
        { throw new CvBenchFormatException($"'{file}': not a readable parquet file ({e.GetType().Name}: {e.Message})"); }
    }
}
