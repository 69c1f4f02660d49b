using System.Security.Cryptography;

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
}
