using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;

namespace OlaRunner;

public sealed record CellFailure(string Notebook, int Cell, int Cells, string Error);

/// What running one notebook gave: the first failure (null when every cell ran) and each executed cell's time.
public sealed record NotebookResult(CellFailure? Failure, IReadOnlyList<CellTiming> Cells);

/// Runs one .ipynb headless in a fresh in-process kernel and writes an executed copy.
/// The copy is the original JSON with outputs and execution counts filled in, so cell and notebook
/// metadata stay exactly as VS Code wrote them.
sealed class NotebookRunner(TextWriter log, bool keepGoing = false)
{
    /// Executes every code cell in order. Returns the first failing cell (null on success; after running the
    /// rest when keepGoing is set) and the wall time of every cell that ran.
    public async Task<NotebookResult> RunAsync(string notebookPath, string executedPath, string htmlPath, TimeSpan cellTimeout)
    {
        var name = Path.GetFileName(notebookPath);
        JsonNode doc;
        try { doc = JsonNode.Parse(await File.ReadAllTextAsync(notebookPath)) ?? throw new JsonException("empty document"); }
        catch (JsonException e) { return new NotebookResult(new CellFailure(name, 0, 0, $"not a valid .ipynb: {e.Message}"), []); }
        var codeCells = (doc["cells"]?.AsArray() ?? []).OfType<JsonObject>()
            .Where(c => (string?)c["cell_type"] == "code").ToList();

        var oldCwd = Directory.GetCurrentDirectory();
        // Relative paths in cells (`#r "../out/lib/OlaVlm.dll"`) resolve against the notebook's folder,
        // as they do in VS Code and Jupyter.
        Directory.SetCurrentDirectory(Path.GetDirectoryName(Path.GetFullPath(notebookPath))!);
        using var kernel = KernelFactory.Create();
        CellFailure? failure = null;
        var timings = new List<CellTiming>();
        int n = 0;
        try
        {
            foreach (var cell in codeCells)
            {
                n++;
                var outputs = new JsonArray();
                cell["outputs"] = outputs;
                cell["execution_count"] = n;
                var sw = Stopwatch.StartNew();
                var source = Source(cell);
                var error = CellLanguage(cell) is var lang && lang is "csharp" or "C#"
                    ? await RunCellAsync(kernel, source, n, outputs, cellTimeout, $"[{name}] cell {n}/{codeCells.Count}")
                    : $"cell language '{lang}' is not supported by this runner (C# only)";
                timings.Add(new CellTiming(n, sw.Elapsed.TotalSeconds, error is not null, RunTimings.FirstLine(source)));
                log.WriteLine($"[{name}] cell {n}/{codeCells.Count} {(error is null ? "ok" : "FAILED")} {sw.Elapsed.TotalSeconds:F1}s");
                if (error is null) continue;
                failure ??= new CellFailure(name, n, codeCells.Count, error);
                if (!keepGoing) break;
            }
        }
        finally
        {
            Directory.SetCurrentDirectory(oldCwd);
            Directory.CreateDirectory(Path.GetDirectoryName(executedPath)!);
            await File.WriteAllTextAsync(executedPath, doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            HtmlPage.Write(doc, name, htmlPath);
        }
        return new NotebookResult(failure, timings);
    }

    static string CellLanguage(JsonObject cell) =>
        (string?)cell["metadata"]?["polyglot_notebook"]?["kernelName"]
        ?? (string?)cell["metadata"]?["dotnet_interactive"]?["language"]
        ?? "csharp";

    static string Source(JsonObject cell) => cell["source"] switch
    {
        JsonArray lines => string.Concat(lines.Select(l => (string?)l)),
        JsonValue v => (string?)v ?? "",
        _ => "",
    };

    async Task<string?> RunCellAsync(Kernel kernel, string code, int executionCount, JsonArray outputs, TimeSpan timeout, string what)
    {
        // Outputs keyed by display id, so an update (a progress bar) replaces its earlier output in place.
        var byValueId = new Dictionary<string, int>();
        string? error = null;
        void Add(string? valueId, JsonObject o)
        {
            lock (outputs)
            {
                if (valueId is not null && byValueId.TryGetValue(valueId, out var i)) { outputs[i] = o; return; }
                if (valueId is not null) byValueId[valueId] = outputs.Count;
                outputs.Add(o);
            }
        }

        // Consecutive writes to one stream form one output, as Jupyter shows them.
        void AddText(string stream, string text)
        {
            lock (outputs)
            {
                if (outputs.Count > 0 && outputs[^1] is JsonObject last && (string?)last["output_type"] == "stream" && (string?)last["name"] == stream)
                    last["text"] = (string?)last["text"] + text;
                else outputs.Add(Stream(stream, text));
            }
        }

        var command = new SubmitCode(code);
        // Cells run one at a time, so every event seen while this one runs belongs to it.
        using var sub = kernel.KernelEvents.Subscribe(e =>
        {
            switch (e)
            {
                case StandardOutputValueProduced o: AddText("stdout", Text(o)); break;
                case StandardErrorValueProduced o: AddText("stderr", Text(o)); break;
                case ReturnValueProduced r: Add(r.ValueId, Rich("execute_result", r, executionCount)); break;
                case DisplayedValueUpdated u: Add(u.ValueId, Rich("display_data", u, null)); break;
                case DisplayedValueProduced d: Add(d.ValueId, Rich("display_data", d, null)); break;
                case ErrorProduced err: Add(null, Error("Error", err.Message, [])); break;
                case CommandFailed f:
                    if (error is not null) break; // a failing directive also fails its parent submission
                    // The managed stack trace travels with the message: a native libtorch error ("Expected … to be
                    // true") names no op, and the trace is the only way to find which call raised it.
                    error = f.Exception?.StackTrace is { } trace ? $"{f.Message}\n{trace}" : f.Message;
                    Add(null, Error(f.Exception?.GetType().Name ?? "Error", f.Message, f.Exception?.StackTrace?.Split('\n') ?? []));
                    break;
            }
        });
        var run = kernel.SendAsync(command);
        if (await Task.WhenAny(run, Task.Delay(timeout)) == run) { await run; return error; }
        // A timeout interrupts the cell as VS Code's interrupt button does (the kernel cancels the cell); training stops
        // at its next step boundary with a checkpoint, so a rerun resumes there. Then the runner waits for it to stop.
        var message = $"cell timed out after {timeout.TotalSeconds:F0}s: interrupted";
        log.WriteLine($"{what} timed out after {timeout.TotalSeconds:F0}s: interrupting it; waiting for training to stop at a step boundary");
        await kernel.SendAsync(new Cancel());
        var left = await InterruptibleWork.WaitAsync(InterruptGrace);
        log.WriteLine(left == 0 ? $"{what} stopped" : $"{what} still has {left} training loop(s) running after {InterruptGrace.TotalSeconds:F0}s; leaving them");
        lock (outputs) outputs.Add(Error("CellTimeout", message, []));
        return message;
    }

    /// How long an interrupted cell may take to reach a step boundary and write its checkpoint.
    static readonly TimeSpan InterruptGrace = TimeSpan.FromMinutes(2);

    static JsonObject Stream(string name, string text) =>
        new() { ["output_type"] = "stream", ["name"] = name, ["text"] = text };

    static JsonObject Rich(string kind, DisplayEvent e, int? executionCount)
    {
        var data = new JsonObject();
        foreach (var v in e.FormattedValues) data[v.MimeType] = v.Value;
        var o = new JsonObject { ["output_type"] = kind, ["data"] = data, ["metadata"] = new JsonObject() };
        if (executionCount is int n) o["execution_count"] = n;
        return o;
    }

    static JsonObject Error(string name, string value, string[] trace) => new()
    {
        ["output_type"] = "error", ["ename"] = name, ["evalue"] = value,
        ["traceback"] = new JsonArray(trace.Select(t => (JsonNode?)JsonValue.Create(t.TrimEnd())).ToArray()),
    };

    static string Text(DisplayEvent e) =>
        e.FormattedValues.FirstOrDefault(v => v.MimeType == PlainTextFormatter.MimeType)?.Value ?? e.Value?.ToString() ?? "";
}
