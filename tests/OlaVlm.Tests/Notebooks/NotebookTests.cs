using OlaVlm.Core;

namespace OlaVlm.Tests.Notebooks;

/// Every notebook under notebooks/ runs end to end through the headless runner in the quick profile.
/// They share one output folder, in notebook order, so later notebooks reuse the world and models
/// the earlier ones cached (each notebook can also build what it needs by itself).
public class NotebookTests
{
    public static TheoryData<string> All()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(Paths.RepoRoot, "notebooks"), "*.ipynb")
                                   .Where(f => char.IsDigit(Path.GetFileName(f)[0])).Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(All))]
    public void RunsInQuickProfile(string notebook)
    {
        var outDir = Path.Combine(Paths.Out, "test-quick");
        var r = Runner.Run(outDir, TimeSpan.FromMinutes(20), "--profile", "quick",
                           Path.Combine(Paths.RepoRoot, "notebooks", notebook));
        Assert.True(r.ExitCode == 0, $"{notebook} failed:\n{r.Output}");

        var name = Path.GetFileNameWithoutExtension(notebook);
        var cells = r.Executed(name)["cells"]!.AsArray().Where(c => (string?)c!["cell_type"] == "code").ToList();
        Assert.NotEmpty(cells);
        Assert.All(cells, c => Assert.DoesNotContain(c!["outputs"]!.AsArray(), o => (string?)o!["output_type"] == "error"));
        Assert.True(File.Exists(Path.Combine(outDir, "html", name + ".html")), "no HTML page written");
        // The kernel loads TorchSharp through `#r "nuget: …"` from its own copy of the native library: the setup
        // line must say that copy has the Scalar use-after-free guard too (Core.ScalarLifetime).
        if (OperatingSystem.IsLinux())
        {
            var setup = string.Concat(cells[0]!["outputs"]!.AsArray().Select(o => (string?)o!["text"] ?? ""));
            Assert.Contains("Scalar guard on", setup);
        }
    }

    /// Notebooks 03–06 open with one library call for their ingredients, not a copied cell.
    [Theory]
    [InlineData("03-coupled-pretraining.ipynb")]
    [InlineData("04-probing.ipynb")]
    [InlineData("05-evaluation.ipynb")]
    [InlineData("06-ablations.ipynb")]
    public void MeasurementNotebooksOpenTheWorkspaceWithOneCall(string notebook)
    {
        var doc = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Paths.RepoRoot, "notebooks", notebook)))!;
        var code = doc["cells"]!.AsArray().Where(c => (string?)c!["cell_type"] == "code")
            .Select(c => string.Concat(c!["source"]!.AsArray().Select(l => (string?)l))).ToList();
        Assert.Contains("Workspace.Open(", code[1]);
        Assert.All(code, c => Assert.DoesNotContain("WorldTeachers.LoadOrTrain", c));
        var text = string.Concat(doc["cells"]!.AsArray().SelectMany(c => c!["source"]!.AsArray().Select(l => (string?)l)));
        Assert.DoesNotContain("parsed leniently", text);
    }

    [Fact]
    public void CommittedNotebooksHaveNoOutputsAndVsCodeMetadata()
    {
        foreach (var f in Directory.GetFiles(Path.Combine(Paths.RepoRoot, "notebooks"), "*.ipynb"))
        {
            var doc = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(f))!;
            Assert.Equal(".net-csharp", (string?)doc["metadata"]!["kernelspec"]!["name"]);
            Assert.Equal("csharp", (string?)doc["metadata"]!["polyglot_notebook"]!["kernelInfo"]!["defaultKernelName"]);
            foreach (var c in doc["cells"]!.AsArray().Where(c => (string?)c!["cell_type"] == "code"))
            {
                Assert.Empty(c!["outputs"]!.AsArray());
                Assert.Equal("csharp", (string?)c["metadata"]!["polyglot_notebook"]!["kernelName"]);
            }
        }
    }
}
