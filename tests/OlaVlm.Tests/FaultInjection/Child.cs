using System.Diagnostics;

namespace OlaVlm.Tests.FaultInjection;

/// A child process (OlaCheck, OlaRunner) whose output lines are watched, so a test can kill it at a chosen moment
/// (SIGKILL: nothing in the child runs after it, as when a machine loses power or a kernel is killed) or interrupt
/// it (SIGINT: Ctrl+C). One intra-op thread: on a loaded 2-core machine libtorch's spinning threads make tiny steps
/// 100× slower, and every run of a comparison must take the same kernel decisions.
public sealed class Child : IDisposable
{
    readonly Process _p;
    readonly List<string> _lines = [];
    readonly object _gate = new();

    public int Id => _p.Id;

    public Child(string dll, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Paths.RepoRoot };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";
        _p = Process.Start(psi)!;
        _p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_gate) { _lines.Add(e.Data); Monitor.PulseAll(_gate); } };
        _p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_gate) { _lines.Add(e.Data); Monitor.PulseAll(_gate); } };
        _p.BeginOutputReadLine();
        _p.BeginErrorReadLine();
    }

    public static string OlaCheck => Built("OlaCheck");
    public static string OlaRunner => Built("OlaRunner");

    static string Built(string name)
    {
        var bin = Path.Combine(Paths.RepoRoot, "src", name, "bin");
        var dlls = Directory.Exists(bin) ? Directory.GetFiles(bin, name + ".dll", SearchOption.AllDirectories) : [];
        return dlls.OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault() ?? throw new FileNotFoundException($"{name}.dll not built under {bin}");
    }

    public string Output { get { lock (_gate) return string.Join("\n", _lines); } }

    /// Waits until a line satisfies `match` (true) or the process ends first (false).
    public bool WaitFor(Func<string, bool> match, TimeSpan timeout)
    {
        var end = DateTime.UtcNow + timeout;
        int seen = 0;
        while (true)
        {
            bool exited = _p.HasExited;
            if (exited) _p.WaitForExit();   // outside the lock: the output handlers take it to add the last lines
            lock (_gate)
            {
                for (; seen < _lines.Count; seen++) if (match(_lines[seen])) return true;
                if (exited) return false;
                if (DateTime.UtcNow > end) throw new TimeoutException($"no matching line within {timeout}:\n{string.Join("\n", _lines.TakeLast(20))}");
                Monitor.Wait(_gate, 50);
            }
        }
    }

    /// SIGKILL (to the whole tree). False when the process had already ended.
    public bool Kill()
    {
        bool running = !_p.HasExited;
        if (running) _p.Kill(entireProcessTree: true);
        _p.WaitForExit();
        return running;
    }

    /// Ctrl+C, as a terminal sends it.
    public void Interrupt()
    {
        using var kill = Process.Start("kill", ["-INT", _p.Id.ToString()]);
        kill.WaitForExit();
    }

    public int Wait(TimeSpan timeout)
    {
        if (!_p.WaitForExit(timeout)) { Kill(); throw new TimeoutException($"child did not finish within {timeout}:\n{Output}"); }
        _p.WaitForExit();
        return _p.ExitCode;
    }

    public void Dispose() { Kill(); _p.Dispose(); }
}
