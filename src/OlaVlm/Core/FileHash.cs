using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace OlaVlm.Core;

/// The SHA-256 of a file's bytes as lower-case hex: what the shipped folders' manifests (data/foundation,
/// data/teachers) and the determinism fingerprint record.
public static class FileHash
{
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }

    /// Why the files a shipped folder's manifest (`dir/manifest`, a JSON object whose "sha256" maps relative paths
    /// to hashes) lists do not match, or null when they all do. `only`: check just these files (each must be listed).
    public static string? VerifyManifest(string dir, string manifest, IEnumerable<string>? only = null)
    {
        var path = Path.Combine(dir, manifest);
        if (!File.Exists(path)) return $"{path} is missing";
        JsonObject? hashes;
        try { hashes = JsonNode.Parse(File.ReadAllText(path))?["sha256"] as JsonObject; }
        catch (Exception e) { return $"unreadable {path}: {e.Message}"; }
        if (hashes is null) return $"{path} lists no sha256";
        foreach (var file in only ?? hashes.Select(kv => kv.Key))
        {
            var want = hashes[file]?.GetValue<string>();
            if (want is null) return $"{path} lists no SHA-256 for {file}";
            var target = Path.Combine(dir, file);
            if (!File.Exists(target)) return $"{target} is missing";
            if (Sha256(target) != want) return $"{target}: SHA-256 differs from {manifest} (edited or corrupted)";
        }
        return null;
    }
}
