using System.Diagnostics;
using System.Text.Json.Nodes;
using OlaVlm.Core;

namespace OlaVlm.Tests.Notebooks;

/// Runs the headless notebook runner (src/OlaRunner) as a child process, as a user would.
/// A separate process because the test host has already loaded TorchSharp from its own bin/, while
/// notebooks load it through `#r "nuget: ..."`.
public static class Runner
{
    public sealed record Result(int ExitCode, string Output, string OutDir)
    {
        public JsonNode Executed(string notebookName) =>
            JsonNode.Parse(File.ReadAllText(Path.Combine(OutDir, "notebooks", notebookName + ".ipynb")))!;
    }

    public static string Dll
    {
        get
        {
            var bin = Path.Combine(Paths.RepoRoot, "src", "OlaRunner", "bin");
            var dlls = Directory.Exists(bin) ? Directory.GetFiles(bin, "OlaRunner.dll", SearchOption.AllDirectories) : [];
            return dlls.OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
                   ?? throw new FileNotFoundException($"OlaRunner.dll not built under {bin}");
        }
    }

    public static Result Run(string outDir, TimeSpan timeout, params string[] args) => Run(outDir, outDir, [], timeout, args);

    /// outFlag: the --out value (null: no flag, the runner takes OLA_OUT or its default); outDir: where the
    /// outputs are expected; env: variables set (or, with a null value, removed) for the child process.
    public static Result Run(string? outFlag, string outDir, (string Name, string? Value)[] env, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Paths.RepoRoot };
        foreach (var (k, v) in env) { if (v is null) psi.Environment.Remove(k); else psi.Environment[k] = v; }
        psi.ArgumentList.Add(Dll);
        psi.ArgumentList.Add("--no-build"); // the test build already refreshed out/lib/OlaVlm.dll
        if (outFlag is not null) { psi.ArgumentList.Add("--out"); psi.ArgumentList.Add(outFlag); }
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"runner did not finish within {timeout}: {string.Join(' ', args)}\n{stdout.Result}");
        }
        return new Result(p.ExitCode, stdout.Result + stderr.Result, outDir);
    }
}
