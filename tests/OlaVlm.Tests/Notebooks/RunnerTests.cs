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
}
