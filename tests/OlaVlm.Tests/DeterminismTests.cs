using System.Diagnostics;
using System.Text.Json.Nodes;
using OlaVlm.Core;
using OlaVlm.Experiments;

namespace OlaVlm.Tests;

/// The determinism bar: the same seed, data and config give bitwise-identical teacher targets and
/// identical loss curves for the first 20 steps of every stage, in two separate processes. What this verifies is
/// bitwise reproduction on one machine with the same kernel decisions (the fingerprint's "machine" record, which the
/// test prints); across machines results agree within tolerance only (README, "What is reproducible where").
public class DeterminismTests(Xunit.Abstractions.ITestOutputHelper output)
{
    static string Dll
    {
        get
        {
            var bin = Path.Combine(Paths.RepoRoot, "src", "OlaCheck", "bin");
            var dlls = Directory.Exists(bin) ? Directory.GetFiles(bin, "OlaCheck.dll", SearchOption.AllDirectories) : [];
            return dlls.OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
                   ?? throw new FileNotFoundException($"OlaCheck.dll not built under {bin}");
        }
    }

    static JsonObject Fingerprint(string dir)
    {
        var psi = new ProcessStartInfo("dotnet", [Dll, "fingerprint", dir, "--steps", "20"])
            { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Paths.RepoRoot };
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync(); var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10))) { p.Kill(true); throw new TimeoutException("OlaCheck fingerprint"); }
        Assert.True(p.ExitCode == 0, $"OlaCheck fingerprint failed:\n{o.Result}\n{e.Result}");
        return JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "fingerprint.json")))!.AsObject();
    }

    [Fact]
    public void TwoProcessesGiveBitwiseIdenticalTargetsAndLossCurves()
    {
        var root = Path.Combine(Paths.Out, "test-determinism", Guid.NewGuid().ToString("N"));
        var a = Fingerprint(Path.Combine(root, "a"));
        var b = Fingerprint(Path.Combine(root, "b"));
        // Everything the fingerprint promises is there: 20 losses per stage, a target hash per teacher.
        foreach (var stage in new[] { "clip", "llm" }) Assert.Equal(20, a[stage]!.AsArray().Count);
        foreach (var arm in new[] { "baseline", "ola" })
            foreach (var stage in new[] { "pt", "ift" }) Assert.Equal(20, a[arm]![stage]!.AsArray().Count);
        Assert.Equal(3, a["teachers"]!.AsObject().Count);
        foreach (var (_, t) in a["teachers"]!.AsObject())
        {
            Assert.Equal(20, t!["losses"]!.AsArray().Count);
            Assert.Equal(64, ((string?)t["targets"])!.Length);
        }
        var diff = DeterminismFingerprint.Differences(a, b);
        Assert.True(diff.Count == 0, "the two processes differ:\n" + string.Join("\n", diff.Take(10)));
        Assert.NotNull(a["machine"]?["oneDnn"]);
        output.WriteLine($"verified: bitwise, two processes on one machine with the same kernel decisions {a["machine"]!.ToJsonString()}");
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void DifferencesNamesTheKeyThatDiffers()
    {
        var a = JsonNode.Parse("""{"x": {"l": ["1", "2"]}, "y": "h"}""");
        var b = JsonNode.Parse("""{"x": {"l": ["1", "2.0000001"]}, "y": "h"}""");
        Assert.Empty(DeterminismFingerprint.Differences(a, a!.DeepClone()));
        var d = Assert.Single(DeterminismFingerprint.Differences(a, b));
        Assert.StartsWith("/x/l", d);
    }
}
