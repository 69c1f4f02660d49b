using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using OlaVlm.Core;

namespace OlaVlm.Model;

/// The one reader for JSON config files (Hugging Face config.json, the foundation's and the teachers' configs). A file
/// that is not UTF-8 JSON, a key of the wrong type, or a size that is zero or negative is an InvalidDataException naming
/// the file and the key — not a bare JsonException, "An element of type 'String' cannot be converted…", or a
/// DivideByZeroException deep inside a constructor.
public static class ConfigJson
{
    /// The file's JSON (errors name the file, and the line of a syntax error).
    public static JsonNode Parse(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"config file not found: {path}", path);
        return JsonFile.Parse(path);
    }

    /// `build` over the file's JSON, for readers that walk it themselves: any type error inside names the file.
    public static T Read<T>(string path, Func<JsonNode, T> build)
    {
        var j = Parse(path);
        try { return build(j); }
        catch (Exception e) when (e is InvalidOperationException or FormatException or KeyNotFoundException or NullReferenceException)
        { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    /// The file deserialized as T (errors name the file and the JSON path of the bad value).
    public static T Deserialize<T>(string path, JsonSerializerOptions? options = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"config file not found: {path}", path);
        return JsonFile.Deserialize<T>(path, options);
    }

    /// An integer key (at least `min`; `fallback` when absent, else an error).
    public static int Int(JsonNode j, string key, string source, int? fallback = null, int min = 1) =>
        (int)Long(j, key, source, fallback, min);

    public static long Long(JsonNode j, string key, string source, long? fallback = null, long min = long.MinValue)
    {
        var v = Value(j, key, source, fallback is null);
        if (v is null) return fallback!.Value;
        // The JSON text, so a value parsed from a file and one built in code (JsonValue<int>) read alike.
        if (v.GetValueKind() != JsonValueKind.Number || !long.TryParse(v.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long x))
            throw Bad(source, key, v, "an integer");
        if (x < min) throw new InvalidDataException($"{source}: '{key}' is {x}; it must be at least {min}");
        return x;
    }

    /// A key that holds an integer or a list of them (HF's eos_token_id): the integer, or the list's first.
    public static long LongOrFirst(JsonNode j, string key, string source, long fallback) => j[key] is JsonArray a
        ? (a.Count > 0 && a[0] is JsonValue v && long.TryParse(v.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long x)
            ? x : throw Bad(source, key, a, "an integer or a list of them"))
        : Long(j, key, source, fallback);

    public static double Double(JsonNode j, string key, string source, double? fallback = null)
    {
        var v = Value(j, key, source, fallback is null);
        if (v is null) return fallback!.Value;
        return v.GetValueKind() == JsonValueKind.Number && double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double x)
            ? x : throw Bad(source, key, v, "a number");
    }

    public static bool Bool(JsonNode j, string key, string source, bool? fallback = null)
    {
        var v = Value(j, key, source, fallback is null);
        if (v is null) return fallback!.Value;
        return v.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? v.GetValue<bool>() : throw Bad(source, key, v, "true or false");
    }

    public static string? String(JsonNode j, string key, string source, string? fallback = null, bool required = false)
    {
        var v = Value(j, key, source, required);
        if (v is null) return fallback;
        return v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw Bad(source, key, v, "a string");
    }

    static JsonValue? Value(JsonNode j, string key, string source, bool required)
    {
        var node = j[key];
        if (node is null) return required ? throw new InvalidDataException($"{source}: missing key '{key}'") : null;
        return node as JsonValue ?? throw Bad(source, key, node, "a single value");
    }

    static InvalidDataException Bad(string source, string key, JsonNode v, string want) =>
        new($"{source}: '{key}' must be {want}, got {v.ToJsonString()}");
}
