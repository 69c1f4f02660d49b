using OlaVlm.Stages;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Stages;

/// The curriculum: one-hop questions first, then the benchmark's comparisons.
public class CurriculumTests
{
    sealed class Recording(string name, List<string> log) : IStageData
    {
        public long ImageTokenId => 7;
        public StageBatch Batch(long seed, int index, int batchSize, Device device)
        {
            log.Add($"{name}:{index}");
            return new StageBatch([], null, [], []);
        }
    }

    [Fact]
    public void BatchesBeforeTheSwitchComeFromTheOneHopPoolAndTheRestRestartTheBenchmarkPool()
    {
        var log = new List<string>();
        var data = new CurriculumStageData(new Recording("hop", log), new Recording("bench", log), oneHopBatches: 3);
        for (int i = 0; i < 5; i++) data.Batch(1, i, 2, CPU);
        Assert.Equal(new[] { "hop:0", "hop:1", "hop:2", "bench:0", "bench:1" }, log);
    }

    [Fact]
    public void SceneQaFollowsTheSchedule()
    {
        var scene = new SceneGenerator(new WorldConfig()).Generate(11, "s");
        var c = new Curriculum(OneHopSteps: 10, OneHopShare: 0.2, DescribeShare: 0.0);
        var early = Enumerable.Range(0, 200).Select(i => SceneQa.Sample(scene, c, step: 5, new Rng((ulong)i))).ToList();
        Assert.All(early, q => Assert.Null(q.Task));
        var late = Enumerable.Range(0, 400).Select(i => SceneQa.Sample(scene, c, step: 50, new Rng((ulong)i))).ToList();
        double oneHop = late.Count(q => q.Task is null) / (double)late.Count;
        // 20 % kept one-hop, plus benchmark draws the scene cannot pose (then a one-hop question instead).
        Assert.InRange(oneHop, 0.12, 0.5);
        Assert.True(late.Select(q => q.Task).OfType<BenchTask>().Distinct().Count() >= 3);
    }
}
