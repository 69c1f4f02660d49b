using System.Text.Json.Nodes;
using OlaVlm.Core;

namespace OlaVlm.Tests.Notebooks;

public class RunnerTests
{
    static string Fixture(string name) => Path.Combine(Paths.RepoRoot, "tests", "OlaVlm.Tests", "Notebooks", "Fixtures", name);

    [Fact]
    public void BadShapeInACellFailsThatCellNotTheKernel()
    {
        var outDir = Path.Combine(Paths.Out, "test-runner", Guid.NewGuid().ToString("N"));
        var r = Runner.Run(outDir, TimeSpan.FromMinutes(5), "--keep-going", Fixture("bad-shape.ipynb"));

        // Non-zero exit naming the notebook, the cell and both shapes — and not a crash (SIGABRT = 134).
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("bad-shape.ipynb: cell 2/3 failed", r.Output);
        Assert.Contains("[2, 3]", r.Output);
        Assert.Contains("[4, 5]", r.Output);

        var cells = r.Executed("bad-shape")["cells"]!.AsArray().Where(c => (string?)c!["cell_type"] == "code").ToList();
        var failed = cells[1]!["outputs"]!.AsArray().Single(o => (string?)o!["output_type"] == "error")!;
        Assert.Equal("ShapeMismatchException", (string?)failed["ename"]);
        // The cell after the failure still ran in the same kernel.
        var after = string.Concat(cells[2]!["outputs"]!.AsArray().Select(o => (string?)o!["text"]));
        Assert.Contains("alive: 6", after);
    }

    [Fact]
    public void StopsAtFirstFailureWithoutKeepGoing()
    {
        var outDir = Path.Combine(Paths.Out, "test-runner", Guid.NewGuid().ToString("N"));
        var r = Runner.Run(outDir, TimeSpan.FromMinutes(5), Fixture("bad-shape.ipynb"));
        Assert.Equal(1, r.ExitCode);
        var cells = r.Executed("bad-shape")["cells"]!.AsArray().Where(c => (string?)c!["cell_type"] == "code").ToList();
        Assert.Empty(cells[2]!["outputs"]?.AsArray() ?? new JsonArray());
    }

    [Fact]
    public void MissingNotebookIsAClearError()
    {
        var r = Runner.Run(Path.Combine(Paths.Out, "test-runner", "missing"), TimeSpan.FromMinutes(1), "no-such.ipynb");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("notebook not found", r.Output);
        Assert.Contains("no-such.ipynb", r.Output);
    }

    static string Text(Runner.Result r, string notebook) => string.Concat(r.Executed(notebook)["cells"]!.AsArray()
        .Where(c => (string?)c!["cell_type"] == "code").SelectMany(c => c!["outputs"]!.AsArray()).Select(o => (string?)o!["text"]));

    [Fact]
    public void ProfileAndOutputFolder_FlagsWinOverEnvironment_EnvironmentOverDefaults()
    {
        var envOut = Path.Combine(Paths.Out, "test-runner", Guid.NewGuid().ToString("N"));
        // OLA_OUT from the environment is honoured (no --out); --profile beats OLA_PROFILE.
        var r = Runner.Run(null, envOut, [("OLA_OUT", envOut), ("OLA_PROFILE", "full")], TimeSpan.FromMinutes(5),
                           "--profile", "quick", Fixture("env-echo.ipynb"));
        Assert.True(r.ExitCode == 0, r.Output);
        var text = Text(r, "env-echo");
        Assert.Contains("OLA_PROFILE=quick", text);
        Assert.Contains($"OLA_OUT={envOut}", text);
        Assert.Contains($"Paths.Out={envOut}", text);
        // The notebook's setup line carries the oneDNN guard's decision, and convolutions are right there.
        Assert.Contains("oneDNN convolutions", text);
        Assert.Contains("conv self-check passed: True", text);

        // OLA_PROFILE from the environment is honoured without a flag; --out beats OLA_OUT.
        var flagOut = Path.Combine(Paths.Out, "test-runner", Guid.NewGuid().ToString("N"));
        var r2 = Runner.Run(flagOut, flagOut, [("OLA_OUT", envOut + "-not-used"), ("OLA_PROFILE", "quick")], TimeSpan.FromMinutes(5),
                            Fixture("env-echo.ipynb"));
        Assert.True(r2.ExitCode == 0, r2.Output);
        Assert.Contains("OLA_PROFILE=quick", Text(r2, "env-echo"));
        Assert.Contains($"OLA_OUT={flagOut}", Text(r2, "env-echo"));
        Assert.False(Directory.Exists(envOut + "-not-used"));
    }

    /// Every run writes <out>/report/timings.json and prints the table; a failed run lists what ran.
    [Fact]
    public void TimingsJsonListsEveryCellThatRan_AlsoWhenACellFails()
    {
        var okOut = Path.Combine(Paths.Out, "test-runner", Guid.NewGuid().ToString("N"));
        var ok = Runner.Run(okOut, TimeSpan.FromMinutes(5), "--profile", "quick", Fixture("env-echo.ipynb"));
        Assert.True(ok.ExitCode == 0, ok.Output);
        Assert.Contains("where the time went", ok.Output);
        var doc = JsonNode.Parse(File.ReadAllText(Path.Combine(okOut, "report", "timings.json")))!;
        Assert.Equal("quick", (string?)doc["profile"]);
        Assert.True((int)doc["machine"]!["cores"]! > 0);
        var nb = doc["notebooks"]!.AsArray().Single()!;
        Assert.Equal("env-echo", (string?)nb["notebook"]);
        Assert.False((bool)nb["failed"]!);
        var cells = nb["cells"]!.AsArray();
        Assert.Equal([1, 2], cells.Select(c => (int)c!["cell"]!));
        Assert.All(cells, c => Assert.True((double)c!["seconds"]! > 0 && !(bool)c["failed"]!));
        Assert.StartsWith("Console.WriteLine(\"OLA_PROFILE=\"", (string?)cells[1]!["source"]);
        // The notebook's time covers its cells (plus kernel start-up), and the run's total is the sum.
        Assert.True((double)nb["seconds"]! >= cells.Sum(c => (double)c!["seconds"]!) - 0.01);
        Assert.Equal((double)nb["seconds"]!, (double)doc["total_seconds"]!, 1e-2);

        // A failing cell stops the notebook: the cells that ran are listed, the failed one marked.
        var badOut = Path.Combine(Paths.Out, "test-runner", Guid.NewGuid().ToString("N"));
        var bad = Runner.Run(badOut, TimeSpan.FromMinutes(5), Fixture("bad-shape.ipynb"));
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("where the time went", bad.Output);
        var badNb = JsonNode.Parse(File.ReadAllText(Path.Combine(badOut, "report", "timings.json")))!["notebooks"]!.AsArray().Single()!;
        Assert.True((bool)badNb["failed"]!);
        Assert.Equal([(1, false), (2, true)], badNb["cells"]!.AsArray().Select(c => ((int)c!["cell"]!, (bool)c["failed"]!)));
    }

    [Fact]
    public void ATypoInOlaProfileIsAnError()
    {
        var outDir = Path.Combine(Paths.Out, "test-runner", Guid.NewGuid().ToString("N"));
        var r = Runner.Run(outDir, outDir, [("OLA_PROFILE", "quik")], TimeSpan.FromMinutes(1), Fixture("env-echo.ipynb"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("unknown profile 'quik'", r.Output);
        Assert.Contains("OLA_PROFILE", r.Output);
    }
}
