namespace OlaVlm.Core;

/// A file the repository ships under data/ does not match its manifest's SHA-256. Shipped files are never replaced
/// behind the user's back (retraining them takes minutes to half an hour and gives other bytes on another machine):
/// the message names the file and the two ways on — restore it from git, or retrain on purpose.
public sealed class ShippedFileException : IOException
{
    public string File { get; }

    public ShippedFileException(FileHash.Problem problem, string retrain)
        : base($"{problem}. It is a file the repository ships, so it is not replaced silently. Either restore it from git: " +
               $"`git checkout -- {GitPath(problem.File)}`, or retrain on purpose: {retrain}.") => File = problem.File;

    /// The path relative to the repository root when the file lies inside it (what `git checkout --` takes).
    static string GitPath(string file)
    {
        var rel = Path.GetRelativePath(Paths.RepoRoot, Path.GetFullPath(file));
        return rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel) ? file : rel.Replace('\\', '/');
    }
}
