using System.Diagnostics;
using OlaVlm.Core;

namespace OlaVlm.Tests.Notebooks;

/// The same notebook in the other hosts: Jupyter's .NET kernel (nbconvert --execute) and a real headless
/// browser that must draw every chart offline. These need Jupyter and Chromium from Debian's packages
/// (environment/install-jupyter.sh; the chart check installs Chromium itself). On a machine without
/// Jupyter they are skipped (and say so) — except under CI=true, where a missing Jupyter is a failure.
public class HostTests
{
    static string Script(string name) => Path.Combine(Paths.RepoRoot, "environment", name);

    static bool JupyterAvailable() =>
        File.Exists("/usr/bin/jupyter-nbconvert") || Sh("command -v jupyter-nbconvert", TimeSpan.FromSeconds(10)).Code == 0;

    static (int Code, string Output) Sh(string command, TimeSpan timeout, params (string, string)[] env)
    {
        var psi = new ProcessStartInfo("bash", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Paths.RepoRoot };
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync(); var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(true); throw new TimeoutException(command); }
        return (p.ExitCode, o.Result + e.Result);
    }

    static void RequireJupyter()
    {
        bool ci = Environment.GetEnvironmentVariable("CI") == "true";
        Assert.False(ci && !JupyterAvailable(), "jupyter-nbconvert is missing on CI: .ci/run should have run environment/install-jupyter.sh");
        Skip.IfNot(JupyterAvailable(), "jupyter-nbconvert not installed: run environment/install-jupyter.sh to check the Jupyter host");
    }

    [SkippableFact]
    public void SetupNotebookRunsUnderJupyterAndItsChartsDrawOffline()
    {
        RequireJupyter();
        var outDir = Path.Combine(Paths.Out, "test-jupyter");
        var run = Sh($"'{Script("run-jupyter-smoke.sh")}' notebooks/00-setup.ipynb", TimeSpan.FromMinutes(10),
                     ("OLA_PROFILE", "quick"), ("OLA_NB_OUT", outDir), ("OLA_OUT", Path.Combine(outDir, "work")));
        Assert.True(run.Code == 0, run.Output);
        // Jupyter's .NET kernel (the one VS Code's Polyglot Notebooks runs too) gets the oneDNN guard: its
        // convolutions are right, whatever this CPU.
        var executed = File.ReadAllText(Path.Combine(outDir, "00-setup.ipynb"));
        Assert.Contains("oneDNN convolutions", executed);
        Assert.Contains(": 0 of 240 convolutions wrong", executed);
        var check = Sh($"'{Script("check-charts-offline.sh")}' '{Path.Combine(outDir, "00-setup.ipynb")}'", TimeSpan.FromMinutes(10));
        Assert.True(check.Code == 0, check.Output);
        Assert.Contains("1/1 charts drew offline", check.Output);
    }

    [SkippableFact]
    public void RunnerOutputChartsDrawOfflineInChromium()
    {
        RequireJupyter(); // nbconvert turns the executed notebook into the HTML page Chromium loads
        var outDir = Path.Combine(Paths.Out, "test-runner-charts");
        var r = Runner.Run(outDir, TimeSpan.FromMinutes(10), "--profile", "quick", Path.Combine(Paths.RepoRoot, "notebooks", "00-setup.ipynb"));
        Assert.True(r.ExitCode == 0, r.Output);
        var check = Sh($"'{Script("check-charts-offline.sh")}' '{Path.Combine(outDir, "notebooks", "00-setup.ipynb")}'", TimeSpan.FromMinutes(10));
        Assert.True(check.Code == 0, check.Output);
        Assert.Contains("1/1 charts drew offline", check.Output);
    }
}
