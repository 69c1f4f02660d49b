using System.Text.Json;
using System.Text.Json.Nodes;

namespace OlaVlm.Core;

/// Every JSON file the workspace reads goes through here, so an error names the file (and the line of a syntax
/// error, or the JSON path of a value of the wrong type) instead of a bare JsonException from deep in a loader.
/// The text is strict UTF-8 (StrictText). Config files add typed keys on top of this (Model.ConfigJson).
public static class JsonFile
{
    /// The file's JSON tree; a missing, empty, non-UTF-8 or malformed file is an error naming it.
    public static JsonNode Parse(string path)
    {
        var text = Text(path);
        try { return JsonNode.Parse(text) ?? throw new InvalidDataException($"{path}: the JSON is null"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON (line {e.LineNumber + 1}: {e.Message})", e); }
    }

    /// The file's top-level JSON object (anything else is an error naming the file).
    public static JsonObject Object(string path) =>
        Parse(path) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object");

    /// The file as a read-only JsonDocument, for readers that walk JsonElements.
    public static JsonDocument Document(string path)
    {
        var text = Text(path);
        try { return JsonDocument.Parse(text); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON (line {e.LineNumber + 1}: {e.Message})", e); }
    }

    /// The file deserialized as T; a syntax error or a value of the wrong type names the file and where.
    public static T Deserialize<T>(string path, JsonSerializerOptions? options = null)
    {
        var text = Text(path);
        try { return JsonSerializer.Deserialize<T>(text, options) ?? throw new InvalidDataException($"{path}: the JSON is null"); }
        catch (JsonException e)
        {
            var where = e.Path is { } p ? $"'{p}' " : "";
            var line = e.LineNumber is { } l ? $"line {l + 1}: " : "";
            throw new InvalidDataException($"{path}: {line}{where}{e.Message}", e);
        }
    }

    static string Text(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"JSON file not found: {path}", path);
        return StrictText.ReadAllText(path);
    }
}
