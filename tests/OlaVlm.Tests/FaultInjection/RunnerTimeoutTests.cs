using System.Text.Json.Nodes;
using OlaVlm.Tests.Notebooks;

namespace OlaVlm.Tests.FaultInjection;

/// `OlaRunner --cell-timeout N` on a cell that trains longer than N seconds: the runner says the cell timed out,
/// interrupts it as the kernel's interrupt button does (training stops between two steps, with a checkpoint), writes
/// the timings file and exits non-zero — it does not crash (exit 134, TaskCanceledException). A notebook that loads
/// the library runs first, as in the main job: every notebook's kernel loads its own copy of OlaVlm.dll, and a runner
/// that read the first copy's loop count said "stopped" at once and exited under the training (exit 139, no checkpoint).
public class RunnerTimeoutTests
{
    [Fact]
    public void A_cell_timeout_interrupts_training_at_a_step_boundary_and_the_runner_exits_cleanly()
    {
        var outDir = Path.Combine(Paths.Out, "test-runner", Guid.NewGuid().ToString("N"));
        var fixtures = Path.Combine(Paths.RepoRoot, "tests", "OlaVlm.Tests", "Notebooks", "Fixtures");
        var r = Runner.Run(outDir, TimeSpan.FromMinutes(6), "--cell-timeout", "20",
                           Path.Combine(fixtures, "loads-library.ipynb"), Path.Combine(fixtures, "slow-training.ipynb"));

        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}:\n{r.Output}");
        Assert.Contains("cell 2/3 timed out after 20s: interrupting it; waiting for training to stop", r.Output);
        Assert.Contains("slow-training.ipynb: cell 2/3 failed: cell timed out after 20s: interrupted", r.Output);
        Assert.Contains("cell 2/3 stopped", r.Output);
        Assert.DoesNotContain("TaskCanceledException", r.Output);
        var timings = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "report", "timings.json")))!;
        Assert.Equal(2, timings["notebooks"]!.AsArray().Count);
        var cells = timings["notebooks"]![1]!["cells"]!.AsArray();
        Assert.Equal(2, cells.Count);
        Assert.True((bool)cells[1]!["failed"]!);

        // The training stopped between two steps and checkpointed there: its metrics end where its checkpoint is.
        var run = Path.Combine(outDir, "slow-run");
        var checkpoint = RunCheckpoint.Find(run, _ => { });
        Assert.NotNull(checkpoint);
        var state = RunCheckpoint.ReadState(checkpoint!);
        Assert.True(state.Step > 0);
        Assert.Equal(state.Step, (int)MetricsLog.Column(MetricsLog.Read(run), "step")[^1]);
        Assert.Empty(Damage.Stray(run));
    }
}
