using System.Buffers.Binary;
using System.Text.Json.Nodes;
using OlaVlm.Core;

namespace OlaVlm.Model;

/// The JSON header of a .safetensors file (8-byte little-endian length, then JSON of name → {dtype, shape,
/// data_offsets}), read without any tensor: keys and shapes can be checked before weights load, and a truncated
/// download fails naming the file, the first tensor that does not fit, its dtype and shape, instead of failing deep
/// inside the reader. Two tensors whose bytes overlap are refused too: a reader would give one weight another's values.
public static class SafetensorsHeader
{
    public sealed record Entry(string Dtype, long[] Shape, long Begin, long End);

    /// Every tensor's shape, after Check.
    public static Dictionary<string, long[]> ReadShapes(string file)
    {
        Check(file);
        return Read(file).Entries.ToDictionary(kv => kv.Key, kv => kv.Value.Shape);
    }

    /// Throws an InvalidDataException naming the file (and the tensor, dtype and shape) where the header or a
    /// tensor's bytes do not fit the file, or two tensors share bytes.
    public static void Check(string file)
    {
        var (entries, dataStart, size) = Read(file);
        foreach (var (key, e) in entries)
        {
            string what = $"{file}: tensor '{key}' ({e.Dtype} {Checked.Fmt(e.Shape)})";
            if (e.Shape.Any(d => d < 0) || e.Begin < 0 || e.End < e.Begin)
                throw new InvalidDataException($"{what} has a negative dimension or data_offsets [{e.Begin}, {e.End}] out of order");
            long need = ElementSize(e.Dtype, what) * e.Shape.Aggregate(1L, (a, d) => a * d);
            if (e.End - e.Begin != need)
                throw new InvalidDataException($"{what} needs {need} bytes, its data_offsets [{e.Begin}, {e.End}] give {e.End - e.Begin}");
            if (dataStart + e.End > size)
                throw new InvalidDataException($"{what} ends at byte {dataStart + e.End}, the file has {size} bytes (truncated?)");
        }
        var ordered = entries.Where(kv => kv.Value.End > kv.Value.Begin).OrderBy(kv => kv.Value.Begin).ToList();
        for (int i = 1; i < ordered.Count; i++)
            if (ordered[i].Value.Begin < ordered[i - 1].Value.End)
                throw new InvalidDataException($"{file}: tensors '{ordered[i - 1].Key}' [{ordered[i - 1].Value.Begin}, {ordered[i - 1].Value.End}) and " +
                                               $"'{ordered[i].Key}' [{ordered[i].Value.Begin}, {ordered[i].Value.End}) share bytes (aliased entries are refused)");
    }

    static (Dictionary<string, Entry> Entries, long DataStart, long Size) Read(string file)
    {
        if (!File.Exists(file)) throw new FileNotFoundException($"safetensors file not found: {file}", file);
        using var stream = File.OpenRead(file);
        long size = stream.Length;
        if (size < 8) throw Bad(file, $"{size} bytes, shorter than the 8-byte header length (truncated?)");
        var lengthBytes = new byte[8];
        stream.ReadExactly(lengthBytes);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (n == 0 || n > (ulong)(size - 8)) throw Bad(file, $"the header claims {n} bytes but {size - 8} follow (truncated?)");
        var json = new byte[n];
        stream.ReadExactly(json);
        JsonObject header;
        try { header = JsonNode.Parse(json)?.AsObject() ?? throw Bad(file, "an empty header"); }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException) { throw Bad(file, $"the header is not a JSON object ({e.Message})"); }
        var entries = new Dictionary<string, Entry>();
        foreach (var (key, node) in header)
        {
            if (key == "__metadata__") continue;
            long[] Longs(string k) => node?[k]?.AsArray().Select(d => d!.GetValue<long>()).ToArray()
                                      ?? throw Bad(file, $"tensor '{key}' has no {k}");
            try
            {
                var offsets = Longs("data_offsets");
                if (offsets.Length != 2) throw Bad(file, $"tensor '{key}' has no [begin, end] data_offsets");
                entries[key] = new Entry(node!["dtype"]?.GetValue<string>() ?? "?", Longs("shape"), offsets[0], offsets[1]);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException)
            { throw Bad(file, $"tensor '{key}' has a malformed entry {node?.ToJsonString()} ({e.Message})"); }
        }
        return (entries, 8 + (long)n, size);
    }

    static InvalidDataException Bad(string file, string why) => new($"{file} is not a safetensors file: {why}");

    static long ElementSize(string dtype, string what) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => throw new InvalidDataException($"{what}: unknown dtype '{dtype}'"),
    };
}
