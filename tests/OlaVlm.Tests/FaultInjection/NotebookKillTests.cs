using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace OlaVlm.Tests.FaultInjection;

/// The case a user hit: notebook 03 (quick profile) killed while the baseline's PT trains, then run again without
/// touching out/ by hand. Before, the rerun started PT over, appended to the old metrics.jsonl, and cell 5's chart
/// failed on every later run. Now the rerun starts the stage's metrics over (or resumes from its checkpoint) and the
/// notebook runs through. Opt-in (several minutes): `--settings tests/perf.runsettings --filter Category=FaultInjection`.
public class NotebookKillTests(ITestOutputHelper output)
{
    [Fact, Trait("Category", "FaultInjection")]
    public void Notebook_03_killed_during_pretraining_runs_through_when_run_again()
    {
        var outDir = Path.Combine(Paths.OutDir("test-fault"), "nb03-" + Guid.NewGuid().ToString("N"));
        var notebook = Path.Combine(Paths.RepoRoot, "notebooks", "03-coupled-pretraining.ipynb");
        string[] args = ["--no-build", "--profile", "quick", "--out", outDir, notebook];
        var experiments = Path.Combine(outDir, "experiments");
        using (var first = new Child(Child.OlaRunner, args))
        {
            // Kill it once the baseline's PT has logged a few steps (and before the stage's end-of-stage checkpoint).
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(25);
            string? metrics = null;
            while (DateTime.UtcNow < deadline && (metrics = PtMetrics(experiments)) is null) Thread.Sleep(100);
            Assert.True(metrics is not null, "PT never started:\n" + first.Output);
            first.Kill();
            output.WriteLine($"killed during PT: {metrics} had {File.ReadLines(metrics!).Count()} row(s)");
        }
        using var second = new Child(Child.OlaRunner, args);
        int rc = second.Wait(TimeSpan.FromMinutes(30));
        Assert.True(rc == 0, $"the rerun failed ({rc}):\n{second.Output}");
        // Cell 5 (the PT and IFT loss charts over steps) ran without an error, and each PT run holds each step once.
        var executed = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "notebooks", "03-coupled-pretraining.ipynb")))!;
        var errors = executed["cells"]!.AsArray().SelectMany(c => c!["outputs"]?.AsArray() ?? []).Where(o => (string?)o!["output_type"] == "error").ToList();
        Assert.Empty(errors);
        // The rerun said what it did with the killed stage: started its metrics over, or resumed from a checkpoint.
        var text = string.Concat(executed["cells"]!.AsArray().SelectMany(c => c!["outputs"]?.AsArray() ?? []).Select(o => (string?)o!["text"]));
        Assert.True(text.Contains("starting over") || text.Contains("resuming from"), "the rerun did not report the interrupted stage");
        foreach (var pt in Directory.GetDirectories(experiments, "pt", SearchOption.AllDirectories))
        {
            var steps = MetricsLog.Column(MetricsLog.Read(pt), "step");
            Assert.Equal(Enumerable.Range(1, steps.Length).Select(s => (double)s), steps);
        }
        Assert.Empty(Damage.Stray(experiments));
        output.WriteLine(second.Output.Split('\n').LastOrDefault(l => l.Contains("all notebooks ran")) ?? "");
        Directory.Delete(outDir, recursive: true);
    }

    /// The baseline's PT metrics once they hold two rows (null before).
    static string? PtMetrics(string experiments)
    {
        if (!Directory.Exists(experiments)) return null;
        foreach (var f in Directory.EnumerateFiles(experiments, "metrics.jsonl", SearchOption.AllDirectories))
            if (f.Contains($"{Path.DirectorySeparatorChar}baseline{Path.DirectorySeparatorChar}pt{Path.DirectorySeparatorChar}") && File.ReadLines(f).Count() >= 2)
                return f;
        return null;
    }
}
