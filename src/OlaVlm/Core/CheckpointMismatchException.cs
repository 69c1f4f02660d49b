namespace OlaVlm.Core;

/// A checkpoint that does not fit a model: every unknown key, missing key and shape mismatch at once,
/// with the file they came from, so one run shows everything to fix.
public sealed class CheckpointMismatchException : Exception
{
    public const string UnknownKind = "unknown key (not in the model)", MissingKind = "missing from the file", ShapeKind = "shape mismatch";

    public sealed record Problem(string Key, string Kind, long[]? Expected, long[]? Found)
    {
        public override string ToString() =>
            $"{Key}: {Kind} (model {(Expected == null ? "-" : Checked.Fmt(Expected))}, file {(Found == null ? "-" : Checked.Fmt(Found))})";
    }

    public string File { get; }
    public IReadOnlyList<Problem> Problems { get; }
    public IReadOnlyList<string> Unknown => Problems.Where(p => p.Kind == UnknownKind).Select(p => p.Key).ToList();
    public IReadOnlyList<string> Missing => Problems.Where(p => p.Kind == MissingKind).Select(p => p.Key).ToList();
    public IReadOnlyList<Problem> ShapeMismatches => Problems.Where(p => p.Kind == ShapeKind).ToList();

    public CheckpointMismatchException(string file, IReadOnlyList<Problem> problems)
        : base($"Checkpoint {file} does not fit the model ({problems.Count} problem(s)):\n  " + string.Join("\n  ", problems))
    {
        File = file; Problems = problems;
    }
}
