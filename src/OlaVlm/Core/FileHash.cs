using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace OlaVlm.Core;

/// The SHA-256 of a file's bytes as lower-case hex: what the shipped folders' manifests (data/foundation,
/// data/teachers), the caches' records under out/ and the determinism fingerprint record.
public static class FileHash
{
    /// A file a manifest lists that is missing or whose bytes differ (File: its full path), or the manifest itself.
    public sealed record Problem(string File, string Why)
    {
        public override string ToString() => $"{File}: {Why}";
    }

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }

    /// Why the files a folder's manifest (`dir/manifest`, a JSON object whose "sha256" maps relative paths to hashes)
    /// lists do not match, or null when they all do. `only`: check just these files (each must be listed).
    public static string? VerifyManifest(string dir, string manifest, IEnumerable<string>? only = null) =>
        CheckManifest(dir, manifest, only)?.ToString();

    /// As VerifyManifest, naming the file at fault.
    public static Problem? CheckManifest(string dir, string manifest, IEnumerable<string>? only = null)
    {
        var path = Path.Combine(dir, manifest);
        if (!File.Exists(path)) return new(path, "is missing");
        JsonObject? doc;
        try { doc = JsonNode.Parse(StrictText.ReadAllText(path)) as JsonObject; }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or InvalidDataException)
        { return new(path, $"is unreadable ({e.Message})"); }
        if (doc?["sha256"] is not JsonObject hashes) return new(path, "lists no sha256");
        if (doc[SelfKey] is JsonValue self && self.ToString() != SelfHash(doc))
            return new(path, $"its content differs from the {SelfKey} it records (edited or damaged)");
        foreach (var file in only ?? hashes.Select(kv => kv.Key))
        {
            var want = hashes[file] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
            if (want is null) return new(path, $"lists no SHA-256 for {file}");
            var target = Path.Combine(dir, file);
            if (!File.Exists(target)) return new(target, "is missing");
            if (Sha256(target) != want) return new(target, $"SHA-256 differs from the one {manifest} records (edited or damaged)");
        }
        return null;
    }

    /// The key under which a manifest records the SHA-256 of its own content (all but this key, as compact JSON), so an
    /// edit of the manifest itself — a changed config or world hash, which would read as "trained for something else" —
    /// is caught as damage too. Manifests written before it existed have none, and are checked by their files alone.
    public const string SelfKey = "manifestSha256";

    static string SelfHash(JsonObject doc)
    {
        var copy = doc.DeepClone().AsObject();
        copy.Remove(SelfKey);
        return Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(copy.ToJsonString()))).ToLowerInvariant();
    }

    /// Writes `dir/manifest`: `about` (if any) plus "sha256" listing every file of `files` (paths relative to `dir`).
    /// Written last and atomically (beside, then renamed): a folder whose manifest exists was complete when written.
    public static void WriteManifest(string dir, string manifest, IEnumerable<string> files, JsonObject? about = null)
    {
        var doc = about?.DeepClone().AsObject() ?? new JsonObject();
        var hashes = new JsonObject();
        foreach (var f in files) hashes[f.Replace('\\', '/')] = Sha256(Path.Combine(dir, f));
        doc["sha256"] = hashes;
        doc.Remove(SelfKey);
        // Hashed as it will read back (numbers and strings as written), which is what CheckManifest sees.
        doc[SelfKey] = SelfHash(JsonNode.Parse(doc.ToJsonString(new() { WriteIndented = true }))!.AsObject());
        var path = Path.Combine(dir, manifest);
        var temp = TempFiles.Beside(path);
        File.WriteAllText(temp, doc.ToJsonString(new() { WriteIndented = true }));
        File.Move(temp, path, overwrite: true);
    }
}
