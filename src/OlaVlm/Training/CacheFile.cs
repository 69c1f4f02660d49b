using System.Text.Json;
using OlaVlm.Core;

namespace OlaVlm.Training;

/// One cached result kept as a file under out/ (a probe curve, benchmark replies, an ablation's scores): written
/// atomically, with its SHA-256 in `<file>.sha256` written after it, and used only when the hash matches and it
/// parses. A damaged file is reported, removed and recomputed by the caller — never used. A file from before these
/// records existed (no .sha256 beside it) is used when it parses, and its hash is recorded then.
public static class CacheFile
{
    public static string HashPath(string path) => path + ".sha256";

    public static void WriteText(string path, string text)
    {
        AtomicFile.WriteText(path, text);
        AtomicFile.WriteText(HashPath(path), FileHash.Sha256(path));
    }

    /// `parse` of the cached text, or null when there is none or it is damaged (then reported through `log`, default
    /// the console, and removed, so the caller computes it again).
    public static T? Read<T>(string path, Func<string, T?> parse, Action<string>? log = null) where T : class
    {
        if (!File.Exists(path)) return null;
        var sidecar = HashPath(path);
        string? recorded = File.Exists(sidecar) ? File.ReadAllText(sidecar).Trim() : null;
        string? why = recorded is not null && recorded != FileHash.Sha256(path) ? "its SHA-256 differs from the one recorded beside it" : null;
        T? value = null;
        if (why is null)
        {
            try { value = parse(StrictText.ReadAllText(path)) ?? throw new InvalidDataException("it holds nothing"); }
            catch (Exception e) when (e is JsonException or InvalidDataException or FormatException or NotSupportedException or InvalidOperationException)
            { why = $"it is unreadable ({e.Message})"; }
        }
        if (why is not null)
        {
            (log ?? Console.WriteLine)($"cache {path} is damaged: {why}; computing it again");
            Remove(path);
            return null;
        }
        if (recorded is null) AtomicFile.WriteText(sidecar, FileHash.Sha256(path));
        return value;
    }

    public static void Remove(string path)
    {
        File.Delete(path);
        File.Delete(HashPath(path));
    }
}
