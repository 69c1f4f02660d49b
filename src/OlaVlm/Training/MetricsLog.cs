using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OlaVlm.Training;

/// Appends one row per logged step to <name>.jsonl (for code and charts) and <name>.csv (for eyes and
/// spreadsheets) in a run folder. Columns are fixed by the first row (or the existing CSV header on
/// resume); a row with a new column throws instead of silently losing it. Position/TruncateTo let a
/// resumed run drop rows written after its checkpoint, so the files match the replayed curve.
public sealed class MetricsLog
{
    static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public string JsonlPath { get; }
    public string CsvPath { get; }
    List<string>? _columns;

    public MetricsLog(string dir, string name = "metrics")
    {
        Directory.CreateDirectory(dir);
        JsonlPath = Path.Combine(dir, name + ".jsonl");
        CsvPath = Path.Combine(dir, name + ".csv");
        if (File.Exists(CsvPath) && File.ReadLines(CsvPath).FirstOrDefault() is { Length: > 0 } header)
            _columns = header.Split(',').ToList();
    }

    public void Append(IEnumerable<KeyValuePair<string, double>> row)
    {
        var values = row.ToList();
        var dup = values.GroupBy(kv => kv.Key).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new ArgumentException($"MetricsLog: column '{dup.Key}' given twice in one row");
        var dict = values.ToDictionary(kv => kv.Key, kv => kv.Value);

        if (_columns == null)
        {
            _columns = values.Select(kv => kv.Key).ToList();
            File.WriteAllText(CsvPath, string.Join(',', _columns) + "\n");
        }
        var unknown = values.Select(kv => kv.Key).Where(k => !_columns.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"MetricsLog {CsvPath}: new column(s) {string.Join(", ", unknown)} not in header {string.Join(",", _columns)}");

        File.AppendAllText(JsonlPath, JsonSerializer.Serialize(dict, Json) + "\n");
        var cells = _columns.Select(c => dict.TryGetValue(c, out var v) ? v.ToString("R", CultureInfo.InvariantCulture) : "");
        File.AppendAllText(CsvPath, string.Join(',', cells) + "\n");
    }

    /// Byte lengths of both files: what a checkpoint records.
    public (long Jsonl, long Csv) Position => (Length(JsonlPath), Length(CsvPath));

    /// Cuts both files back to a recorded Position (rows logged after a checkpoint, before a crash).
    public void TruncateTo((long Jsonl, long Csv) position)
    {
        Truncate(JsonlPath, position.Jsonl);
        Truncate(CsvPath, position.Csv);
        if (position.Csv == 0) _columns = null;
    }

    /// Starts both files over (a run that begins at step 0): rows an interrupted earlier attempt logged before its
    /// first checkpoint are dropped, never appended to. `log` hears about it when there were any.
    public void Reset(Action<string>? log = null)
    {
        if (Position is (0, 0)) return;
        log?.Invoke($"{JsonlPath}: starting over; the rows of an earlier attempt that stopped before its first checkpoint are dropped");
        TruncateTo((0, 0));
    }

    /// Every row of <dir>/<name>.jsonl, columns in file order. A bad line (not JSON, invalid UTF-8, or a step that
    /// does not follow the one before: rows of two attempts mixed) throws naming file and line.
    public static IReadOnlyList<IReadOnlyDictionary<string, double>> Read(string dir, string name = "metrics")
    {
        var path = Path.Combine(dir, name + ".jsonl");
        if (!File.Exists(path)) throw new FileNotFoundException($"MetricsLog: no {name}.jsonl in {dir}", path);
        var rows = new List<IReadOnlyDictionary<string, double>>();
        int lineNo = 0;
        double lastStep = double.NegativeInfinity;
        foreach (var line in Core.StrictText.ReadLines(path))
        {
            lineNo++;
            if (line.Length == 0) continue;
            Dictionary<string, double> row;
            try { row = JsonSerializer.Deserialize<Dictionary<string, double>>(line, Json) ?? throw new JsonException("null row"); }
            catch (JsonException e) { throw new InvalidDataException($"MetricsLog: {path} line {lineNo} is not a metrics row: {e.Message}", e); }
            if (row.TryGetValue("step", out var step))
            {
                if (!(step > lastStep))
                    throw new InvalidDataException($"MetricsLog: {path} line {lineNo}: step {step} after step {lastStep}: rows of two attempts " +
                                                   $"are mixed (an interrupted run, appended to); delete {dir} to train that run again");
                lastStep = step;
            }
            rows.Add(row);
        }
        return rows;
    }

    /// One column across rows (NaN where a row lacks it), for charts.
    public static double[] Column(IEnumerable<IReadOnlyDictionary<string, double>> rows, string column) =>
        rows.Select(r => r.TryGetValue(column, out var v) ? v : double.NaN).ToArray();

    static long Length(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    static void Truncate(string path, long length)
    {
        if (!File.Exists(path)) { if (length > 0) throw new InvalidDataException($"MetricsLog: {path} is missing but a checkpoint recorded {length} bytes"); return; }
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        if (f.Length < length) throw new InvalidDataException($"MetricsLog: {path} has {f.Length} bytes, fewer than the {length} a checkpoint recorded");
        f.SetLength(length);
    }
}
