using System.Buffers.Binary;
using System.Text.Json;

namespace OlaVlm.Training;

/// Reads only the JSON header of a .safetensors file (8-byte little-endian length, then JSON of
/// name -> {dtype, shape, data_offsets}), so keys and shapes can be checked before any tensor loads.
public static class SafetensorsHeader
{
    public static Dictionary<string, long[]> ReadShapes(string file)
    {
        if (!File.Exists(file)) throw new FileNotFoundException($"safetensors file not found: {file}", file);
        using var f = File.OpenRead(file);
        Span<byte> len = stackalloc byte[8];
        if (f.Read(len) != 8) throw Bad(file, "shorter than the 8-byte header length");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(len);
        if (n == 0 || n > (ulong)Math.Min(f.Length - 8, 100_000_000)) throw Bad(file, $"header length {n} does not fit a {f.Length}-byte file");
        var json = new byte[n];
        f.ReadExactly(json);
        try
        {
            using var doc = JsonDocument.Parse(json);
            var shapes = new Dictionary<string, long[]>();
            foreach (var e in doc.RootElement.EnumerateObject())
                if (e.Name != "__metadata__")
                    shapes[e.Name] = e.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            return shapes;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        { throw Bad(file, e.Message); }
    }

    static InvalidDataException Bad(string file, string why) => new($"{file} is not a safetensors file: {why}");
}
