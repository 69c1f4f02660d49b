using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace OlaVlm.Tests.FaultInjection;

/// Kills a training child process (OlaCheck tiny-train: a tiny PT stage through Stage.Run, as the notebooks train) at
/// random steps and while it writes checkpoints, runs it again after each kill, and checks that the run it finally
/// completes is bit-identical to one that was never interrupted, that nothing temporary is left behind, and that its
/// metrics hold each step once. The short version runs in `dotnet test`; the long one (≥ 20 kills, three checkpoint
/// cadences, Ctrl+C) is opt-in: `dotnet test --settings tests/perf.runsettings --filter Category=FaultInjection`.
public class KillTests(ITestOutputHelper output)
{
    const int Steps = 12, Width = 384;   // 384 wide: a checkpoint takes ~0.2 s to write, a target a kill can hit
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    [Fact]
    public void Killed_at_random_steps_and_mid_checkpoint_the_run_resumes_to_identical_results()
    {
        var reference = Reference();
        var outcome = RunWithKills(checkpointEvery: 2, kills: 5, interrupts: 0, seed: 23);
        Assert.Equal(reference.ToJsonString(), outcome.Result.ToJsonString());
        output.WriteLine($"{outcome.Kills} kills ({outcome.MidWrite} left a checkpoint half-written), resumed to the uninterrupted result");
    }

    [Fact, Trait("Category", "FaultInjection")]
    public void Long_version_many_kills_three_cadences_and_ctrl_c()
    {
        var reference = Reference();
        int kills = 0, midWrite = 0;
        foreach (var (every, n, interrupts) in new[] { (1, 10, 1), (3, 9, 1), (0, 8, 0) })
        {
            var outcome = RunWithKills(every, n, interrupts, seed: 100 + every);
            Assert.Equal(reference.ToJsonString(), outcome.Result.ToJsonString());
            kills += outcome.Kills; midWrite += outcome.MidWrite;
            output.WriteLine($"checkpoint every {every}: {outcome.Kills} kills ({outcome.MidWrite} mid-write), {interrupts} Ctrl+C: identical");
        }
        Assert.True(kills >= 20, $"only {kills} kills landed");
        Assert.True(midWrite >= 1, "no kill landed while a checkpoint was being written");
        output.WriteLine($"total: {kills} kills, {midWrite} of them mid-write");
    }

    sealed record Outcome(JsonObject Result, int Kills, int MidWrite);

    /// The uninterrupted run, with and without intermediate checkpoints: they must agree bit for bit (checkpoints change files, not numbers).
    JsonObject Reference()
    {
        var plain = CompleteOnce(NewDir("ref-plain"), checkpointEvery: 0);
        var everyStep = CompleteOnce(NewDir("ref-every"), checkpointEvery: 1);
        Assert.Equal(plain.ToJsonString(), everyStep.ToJsonString());
        Assert.Equal(Enumerable.Range(1, Steps), plain["steps"]!.AsArray().Select(s => (int)s!));
        return plain;
    }

    Outcome RunWithKills(int checkpointEvery, int kills, int interrupts, int seed)
    {
        var dir = NewDir($"kills-every{checkpointEvery}");
        var rng = new Random(seed);
        int landed = 0, midWrite = 0;
        bool tempLeft = false;
        for (int k = 0; k < kills + interrupts; k++)
        {
            using var child = Start(dir, checkpointEvery);
            // Every other kill aims at a checkpoint write: the Trainer writes one right after it reports a step that is a
            // multiple of the cadence (or the last). The others land after the 1st to 3rd step this run trains. Without
            // intermediate checkpoints only the last kill aims at the final write (a later one could find the run done).
            bool atWrite = checkpointEvery > 0 ? k % 2 == 0 : k == kills - 1;
            int nth = rng.Next(1, 4), seen = 0;
            Func<string, bool> target = atWrite
                ? l => l.StartsWith("step ") && int.Parse(l[5..]) is var st && (st == Steps || checkpointEvery > 0 && st % checkpointEvery == 0)
                : l => l.StartsWith("step ") && ++seen == nth;
            if (!child.WaitFor(target, Limit)) break;   // it finished first
            if (tempLeft) Assert.Contains("removed", child.Output);   // the stray files of the previous kill are reported
            Thread.Sleep(atWrite ? rng.Next(5, checkpointEvery == 0 ? 60 : 150) : rng.Next(0, 40));
            if (k >= kills)
            {
                child.Interrupt();
                int rc = child.Wait(Limit);
                Assert.True(rc is 130 or 0, $"Ctrl+C: exit {rc}\n{child.Output}");
                if (rc == 130) Assert.Contains("interrupted after step", child.Output);
                tempLeft = false;
                continue;
            }
            if (!child.Kill()) break;   // it had finished
            landed++;
            tempLeft = Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).Any(TempFiles.IsTemporary);
            if (tempLeft) midWrite++;
        }
        var result = Complete(dir, checkpointEvery);
        var stray = Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).Where(TempFiles.IsTemporary).ToList();
        Assert.True(stray.Count == 0, "left behind: " + string.Join(", ", stray));
        // Each step once: a restarted run started its metrics over, a resumed one cut them back to its checkpoint.
        Assert.Equal(Enumerable.Range(1, Steps).Select(s => (double)s), MetricsLog.Column(MetricsLog.Read(Path.Combine(dir, "pt")), "step"));
        Directory.Delete(dir, recursive: true);
        return new Outcome(result, landed, midWrite);
    }

    JsonObject Complete(string dir, int checkpointEvery)
    {
        using var child = Start(dir, checkpointEvery);
        int rc = child.Wait(Limit);
        Assert.True(rc == 0, $"tiny-train exited {rc}:\n{child.Output}");
        return JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "result.json")))!.AsObject();
    }

    /// An uninterrupted run in a fresh folder, removed after.
    JsonObject CompleteOnce(string dir, int checkpointEvery)
    {
        var result = Complete(dir, checkpointEvery);
        Directory.Delete(dir, recursive: true);
        return result;
    }

    static Child Start(string dir, int checkpointEvery) =>
        new(Child.OlaCheck, "tiny-train", dir, "--steps", $"{Steps}", "--checkpoint-every", $"{checkpointEvery}", "--width", $"{Width}");

    static string NewDir(string name) => Path.Combine(Paths.OutDir("test-fault"), $"{name}-{Guid.NewGuid():N}");
}
