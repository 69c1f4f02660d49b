namespace OlaVlm.Tests.FaultInjection;

/// What a disk, a kill or a careless edit does to a file: cut it short, or change one byte.
static class Damage
{
    /// Keeps the first `fraction` of the file's bytes (at least one byte goes).
    public static void Truncate(string path, double fraction = 0.5)
    {
        long length = new FileInfo(path).Length;
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        f.SetLength(Math.Min(length - 1, (long)(length * fraction)));
    }

    /// Flips bits of the byte at `offset` (negative: from the end).
    public static void Flip(string path, long offset, byte mask = 0x5A)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset >= 0 ? offset : f.Length + offset;
        int b = f.ReadByte();
        f.Position--;
        f.WriteByte((byte)(b ^ mask));
    }

    /// Flips a byte at a random place in the file (seeded).
    public static long FlipRandom(string path, int seed)
    {
        long offset = new Random(seed).NextInt64(0, new FileInfo(path).Length);
        Flip(path, offset);
        return offset;
    }

    /// Every file and folder under `dir` named as work in progress (nothing may be left after a run).
    public static List<string> Stray(string dir) =>
        Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).Where(TempFiles.IsTemporary).ToList();
}
