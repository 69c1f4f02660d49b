namespace OlaVlm.Core;

/// Where things live. Everything generated at run time (datasets, teacher targets, checkpoints,
/// executed notebooks, charts, logs) goes under one git-ignored folder: `<repo>/out`, or OLA_OUT.
public static class Paths
{
    /// The repository root: the nearest folder above the working directory (or this assembly)
    /// that holds OlaNotebooks.sln.
    public static string RepoRoot => _repoRoot ??= FindRepoRoot();
    static string? _repoRoot;

    public static string Out
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("OLA_OUT");
            var dir = string.IsNullOrWhiteSpace(env) ? Path.Combine(RepoRoot, "out") : Path.GetFullPath(env);
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    /// A sub-folder of the output folder, created on demand (e.g. Paths.OutDir("world")).
    public static string OutDir(params string[] parts)
    {
        var dir = Path.Combine([Out, .. parts]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static string Data => Path.Combine(RepoRoot, "data");

    static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d != null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "OlaNotebooks.sln"))) return d.FullName;
        }
        // Outside the repository (e.g. the library used from elsewhere): work in the current folder.
        return Directory.GetCurrentDirectory();
    }
}
