using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OlaRunner;

/// One executed code cell: its 1-based number among the notebook's code cells, wall time, whether it
/// failed, and its first non-empty source line (so a row can be told apart without opening the notebook).
public sealed record CellTiming(int Cell, double Seconds, bool Failed, string Source);

/// One notebook of a run: the cells that ran (a stopped notebook lists only those) and its wall time.
public sealed record NotebookTiming(string Notebook, double Seconds, bool Failed, IReadOnlyList<CellTiming> Cells);

/// Where a main-job run spends its time: per notebook, per cell. Printed as a compact table at the end of
/// every run (also a failed one, for what ran) and written to <out>/report/timings.json after each notebook,
/// so even a run that is killed leaves the figures of the notebooks it finished.
public sealed class RunTimings(string profile, DateTime startedUtc)
{
    public const string FileName = "timings.json";
    readonly List<NotebookTiming> _notebooks = [];

    public IReadOnlyList<NotebookTiming> Notebooks => _notebooks;
    public double TotalSeconds => _notebooks.Sum(n => n.Seconds);

    public void Add(NotebookTiming notebook) => _notebooks.Add(notebook);

    public static string PathUnder(string outDir) => Path.Combine(outDir, "report", FileName);

    /// {"profile", "started_utc", "machine": {...}, "total_seconds", "notebooks": [{"notebook", "seconds",
    /// "failed", "cells": [{"cell", "seconds", "failed", "source"}]}]}; written atomically (temp + rename).
    public void Write(string outDir)
    {
        var file = PathUnder(outDir);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var doc = new JsonObject
        {
            ["profile"] = profile,
            ["started_utc"] = startedUtc.ToString("o", CultureInfo.InvariantCulture),
            // Figures only compare on the same machine: say which one.
            ["machine"] = new JsonObject
            {
                ["cores"] = Environment.ProcessorCount,
                ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
                ["cpu"] = CpuModel(),
                ["host"] = Environment.MachineName,
            },
            ["total_seconds"] = Math.Round(TotalSeconds, 3),
            ["notebooks"] = new JsonArray(_notebooks.Select(n => (JsonNode)new JsonObject
            {
                ["notebook"] = n.Notebook,
                ["seconds"] = Math.Round(n.Seconds, 3),
                ["failed"] = n.Failed,
                ["cells"] = new JsonArray(n.Cells.Select(c => (JsonNode)new JsonObject
                {
                    ["cell"] = c.Cell, ["seconds"] = Math.Round(c.Seconds, 3), ["failed"] = c.Failed, ["source"] = c.Source,
                }).ToArray()),
            }).ToArray()),
        };
        var tmp = file + ".tmp";
        File.WriteAllText(tmp, doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(tmp, file, overwrite: true);
    }

    /// One line per notebook (total, then each cell's seconds in order; "!" marks a failed cell), the run's
    /// total, and the slowest cells with their first source line.
    public string Table(int slowest = 5)
    {
        var sb = new StringBuilder();
        sb.AppendLine("OlaRunner: where the time went (seconds; cells in order, ! = failed)");
        int width = Math.Max(24, _notebooks.Select(n => n.Notebook.Length).DefaultIfEmpty(0).Max());
        foreach (var n in _notebooks)
        {
            var cells = string.Join(' ', n.Cells.Select(c => Fmt(c.Seconds) + (c.Failed ? "!" : "")));
            sb.AppendLine($"  {n.Notebook.PadRight(width)} {Fmt(n.Seconds),8}  {cells}");
        }
        sb.AppendLine($"  {"total".PadRight(width)} {Fmt(TotalSeconds),8}");
        var top = _notebooks.SelectMany(n => n.Cells.Select(c => (n.Notebook, c))).OrderByDescending(x => x.c.Seconds).Take(slowest).ToList();
        if (top.Count > 0)
        {
            sb.AppendLine("  slowest cells:");
            foreach (var (nb, c) in top)
                sb.AppendLine($"    {Fmt(c.Seconds),8}  {nb} cell {c.Cell}: {c.Source}");
        }
        return sb.ToString().TrimEnd();
    }

    static string Fmt(double s) => s.ToString(s < 10 ? "0.0" : "0", CultureInfo.InvariantCulture);

    /// First non-empty line that is not a `#r`/`#!` directive (a leading comment is kept: it usually says
    /// what the cell does), cut to `max` characters.
    public static string FirstLine(string source, int max = 70)
    {
        var lines = source.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        var line = lines.FirstOrDefault(l => !l.StartsWith("#r") && !l.StartsWith("#!")) ?? lines.FirstOrDefault() ?? "";
        return line.Length <= max ? line : line[..(max - 1)] + "…";
    }

    static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "unknown";
        }
        catch (IOException) { return "unknown"; }
        catch (UnauthorizedAccessException) { return "unknown"; }
    }
}
