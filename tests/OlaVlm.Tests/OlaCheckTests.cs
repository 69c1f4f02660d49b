using System.Diagnostics;
using OlaVlm.Core;

namespace OlaVlm.Tests;

/// The command line's one argument reader: a setting or option a command does not take is an error naming it,
/// printed with the command's usage, exit code 1 — a typo never runs the default silently.
public class OlaCheckTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var bin = Path.Combine(Paths.RepoRoot, "src", "OlaCheck", "bin");
        var dll = Directory.GetFiles(bin, "OlaCheck.dll", SearchOption.AllDirectories).OrderByDescending(File.GetLastWriteTimeUtc).First();
        var psi = new ProcessStartInfo("dotnet", [dll, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Paths.RepoRoot };
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync(); var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2))) { p.Kill(true); throw new TimeoutException("OlaCheck"); }
        return (p.ExitCode, o.Result, e.Result);
    }

    [Fact]
    public void UnknownSettingsAndCommandsAreRefusedByName()
    {
        var (code, _, err) = Run("align", "ptt=80");
        Assert.Equal(1, code);
        Assert.Contains("unknown setting 'ptt'", err);
        Assert.Contains("usage: OlaCheck align", err);
        (code, _, err) = Run("seeds", "from=x");
        Assert.Equal(1, code);
        Assert.Contains("from=x is not a whole number", err);
        (code, _, err) = Run("screen", "to=5");
        Assert.Equal(1, code);
        Assert.Contains("screen: to=5 is before from=9", err);                // checked before any training
        (code, _, err) = Run("frobnicate");
        Assert.Equal(1, code);
        Assert.Contains("unknown command 'frobnicate'", err);
        var (helpCode, help, _) = Run("--help");
        Assert.Equal(0, helpCode);
        foreach (var c in new[] { "conv", "bf16", "fingerprint", "foundations", "teachers", "align", "screen", "seeds", "ablations", "clip", "reasoning", "oracle", "ptstep", "scalar-race" })
            Assert.Contains($"  {c} ", help);
    }
}
