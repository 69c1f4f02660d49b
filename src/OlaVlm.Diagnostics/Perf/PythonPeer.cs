using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace OlaVlm.Diagnostics;

/// What the peer reported after loading the export and running its first step.
public sealed record PeerReady(string Workload, double Loss, double GradNorm, string Torch, int Threads, int InteropThreads,
                               int? OpenBlasThreads, long Trainable);

/// One timed round of the peer: `Steps` training steps, their total and each one's seconds.
public sealed record PeerRound(int Steps, double Seconds, IReadOnlyList<double> StepSeconds, double Loss);

/// The PyTorch side of the peer benchmark: one long-lived `/usr/bin/python3 environment/bench/peer_step.py`
/// process per workload. It loads the export once and runs its first step at start (Ready), then times rounds
/// of steps on request, so the C# side can alternate rounds with it without paying Python's start-up again.
/// Protocol: one command a line on stdin ("run K", "quit"), one JSON object a line on stdout.
public sealed class PythonPeer : IDisposable
{
    public const string Python = "/usr/bin/python3";
    public const string Install = "apt-get install --no-install-recommends python3-torch libopenblas0-pthread";
    public static string Script => Path.Combine(Core.Paths.RepoRoot, "environment", "bench", "peer_step.py");

    readonly Process _process;
    readonly BlockingCollection<string> _lines = new();
    readonly System.Text.StringBuilder _stderr = new();
    public PeerReady Ready { get; }

    /// Null when the peer can run here, else why not (and how to install what is missing).
    public static string? Unavailable()
    {
        if (!File.Exists(Python)) return $"no {Python}. Install: {Install}";
        if (!File.Exists(Script)) return $"the peer script {Script} is missing";
        var psi = new ProcessStartInfo(Python, ["-c", "import torch"]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        p.WaitForExit(60_000);
        return p.HasExited && p.ExitCode == 0 ? null : $"{Python} cannot import torch. Install: {Install}";
    }

    PythonPeer(Process process, TimeSpan startTimeout)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => { if (e.Data is null) _lines.CompleteAdding(); else _lines.Add(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var j = Next("ready", startTimeout);
        Ready = new PeerReady((string)j["workload"]!, (double)j["loss"]!, (double)j["grad_norm"]!, (string)j["torch"]!,
                              (int)j["threads"]!, (int)j["interop_threads"]!, (int?)j["openblas_threads"], (long)j["trainable"]!);
    }

    /// Starts the peer on an export folder with `threads` intra-op threads (torch, OpenMP and OpenBLAS alike).
    public static PythonPeer Start(string exportDir, int threads, TimeSpan? startTimeout = null)
    {
        var psi = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { Script, exportDir, "--threads", threads.ToString() }) psi.ArgumentList.Add(a);
        foreach (var v in new[] { "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS" }) psi.Environment[v] = threads.ToString();
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Python} {Script}");
        try { return new PythonPeer(p, startTimeout ?? TimeSpan.FromMinutes(5)); }
        catch { Kill(p); p.Dispose(); throw; }
    }

    /// Times `steps` training steps in the peer.
    public PeerRound Run(int steps, TimeSpan? timeout = null)
    {
        _process.StandardInput.WriteLine($"run {steps}");
        _process.StandardInput.Flush();
        var j = Next("round", timeout ?? TimeSpan.FromMinutes(10));
        return new PeerRound((int)j["steps"]!, (double)j["seconds"]!, j["step_seconds"]!.AsArray().Select(x => (double)x!).ToList(), (double)j["loss"]!);
    }

    JsonNode Next(string expected, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero) throw Failure($"no '{expected}' line within {timeout.TotalSeconds:F0} s");
            if (!_lines.TryTake(out var line, left))
            {
                if (_lines.IsAddingCompleted) throw Failure($"the peer exited (code {ExitCode()}) before its '{expected}' line");
                continue;
            }
            if (!line.TrimStart().StartsWith('{')) continue;   // stray prints are not protocol
            var j = JsonNode.Parse(line) ?? throw Failure($"bad JSON line '{line}'");
            if ((string?)j["event"] == expected) return j;
            throw Failure($"expected a '{expected}' line, got '{line}'");
        }
    }

    string ExitCode() { _process.WaitForExit(5_000); return _process.HasExited ? _process.ExitCode.ToString() : "still running"; }

    InvalidOperationException Failure(string what)
    {
        Thread.Sleep(200);   // let stderr drain
        string err; lock (_stderr) err = _stderr.ToString().Trim();
        return new InvalidOperationException($"PyTorch peer ({Script}): {what}." + (err.Length > 0 ? $" Its stderr:\n{err}" : ""));
    }

    static void Kill(Process p) { try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } }

    bool _disposed;

    /// Asks the peer to quit (kills it after 10 s); safe to call twice.
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (!_process.HasExited) { _process.StandardInput.WriteLine("quit"); _process.StandardInput.Flush(); }
            if (!_process.WaitForExit(10_000)) Kill(_process);
        }
        catch (IOException) { Kill(_process); }
        // WaitForExit() without a timeout also waits for the redirected output to drain: its last event
        // (CompleteAdding) must not reach _lines after it is disposed (that crashed a test host once).
        try { _process.WaitForExit(); } catch (InvalidOperationException) { }
        _process.Dispose();
        _lines.Dispose();
    }
}
