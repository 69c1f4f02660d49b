using System.Diagnostics;
using System.Text.RegularExpressions;

namespace OlaVlm.Core;

/// Names for work in progress, and their removal after a killed run. Every file or folder that is written beside
/// its final name and renamed when complete is called `.<name>.tmp-<pid>-<random>`: the process id says whose it
/// is, so the next run removes those whose writer is gone (a kill leaves them behind) and leaves alone those of a
/// process still writing (two notebooks over one out/ folder).
public static partial class TempFiles
{
    /// A temporary name in the same folder as `path` (rename is atomic only within one file system).
    public static string Beside(string path)
    {
        var full = Path.GetFullPath(path);
        return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
    }

    /// Whether `path` is a temporary name (this scheme, or the fixed `.tmp` / `.old-` names older code used).
    public static bool IsTemporary(string path)
    {
        var name = Path.GetFileName(path.TrimEnd(Path.DirectorySeparatorChar));
        return name.Contains(".tmp-") || name.EndsWith(".tmp", StringComparison.Ordinal) || OldRx().IsMatch(name);
    }

    /// Removes the temporary files and folders in `dir` (and, with `depth` > 0, in its sub-folders down to that depth)
    /// left by processes that no longer run, and says what it removed through `log`. Returns how many it removed.
    public static int Sweep(string dir, Action<string>? log = null, int depth = 0)
    {
        if (!Directory.Exists(dir)) return 0;
        int removed = 0;
        long bytes = 0;
        var names = new List<string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir))
        {
            if (!IsTemporary(entry))
            {
                if (depth > 0 && Directory.Exists(entry)) removed += Sweep(entry, log, depth - 1);
                continue;
            }
            if (OwnerAlive(entry)) continue;
            try
            {
                bytes += Size(entry);
                if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true); else File.Delete(entry);
                removed++; names.Add(Path.GetFileName(entry));
            }
            catch (IOException) { /* another process removed it first */ }
            catch (UnauthorizedAccessException) { }
        }
        if (names.Count > 0)
            (log ?? Console.WriteLine)($"removed {names.Count} unfinished temporary item(s) of an interrupted run from {dir} " +
                                       $"({bytes / 1e6:F1} MB): {string.Join(", ", names.Take(4))}{(names.Count > 4 ? ", …" : "")}");
        return removed;
    }

    /// True when the name carries the id of a process that still runs (its writer may still be at work).
    static bool OwnerAlive(string path)
    {
        var m = PidRx().Match(Path.GetFileName(path));
        if (!m.Success) return false;
        int pid = int.Parse(m.Groups[1].Value);
        if (pid == Environment.ProcessId) return true;
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    static long Size(string path) => Directory.Exists(path)
        ? Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length)
        : new FileInfo(path).Length;

    [GeneratedRegex(@"\.tmp-(\d+)-[0-9a-f]{32}$")]
    private static partial Regex PidRx();

    [GeneratedRegex(@"\.old-[0-9a-f]{32}$")]
    private static partial Regex OldRx();
}
