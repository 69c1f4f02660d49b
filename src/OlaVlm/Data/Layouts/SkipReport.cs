using OlaVlm.World;

namespace OlaVlm.Data.Layouts;

/// What a reader left out under MalformedRecordPolicy.SkipAndReport: how many records, and the first few with
/// where they were and why. Only the first few are kept because a released file can have hundreds of
/// thousands of records (a wrong image folder would skip them all); the count is always exact.
public sealed class SkipReport(string file, int keep = 5)
{
    readonly List<SkippedRecord> first = [];

    public string File { get; } = file;
    public int Count { get; private set; }
    /// The first skipped records (Index: the record's position in the file, 0-based; for JSONL, the line).
    public IReadOnlyList<SkippedRecord> First => first;

    public void Add(int index, string? id, string reason)
    {
        Count++;
        if (first.Count < keep) first.Add(new SkippedRecord(File, index, id, reason));
    }

    /// One line for logs and notebooks: "skipped 3 record(s) of 'x.json': record 2 (id a): reason; …".
    public override string ToString() => Count == 0 ? $"skipped no record of '{File}'"
        : $"skipped {Count} record(s) of '{File}': " + string.Join("; ", first.Select(s => $"record {s.Index}{(s.Id is null ? "" : $" (id {s.Id})")}: {s.Reason}"))
          + (Count > first.Count ? $"; and {Count - first.Count} more" : "");
}
