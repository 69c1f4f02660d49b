using OlaVlm.Teachers;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers;

public class TeacherTests
{
    static readonly TeacherData Data = SyntheticScenes.Generate(24, size: 32, numClasses: 4, seed: 1);

    public static TheoryData<string> Kinds => new() { "Depth", "Seg", "Gen" };

    static MiniTeacher Tiny(string kind, int seed = 0) => MiniTeacher.Create(kind switch
    {
        "Depth" => DepthTeacherConfig.Tiny with { Seed = seed },
        "Seg" => SegTeacherConfig.Tiny with { Seed = seed },
        _ => GenTeacherConfig.Tiny with { Seed = seed },
    }, CPU);

    [Theory, MemberData(nameof(Kinds))]
    public void EncodeMatchesTargetShape_IsDeterministic_AndGradientFree(string kind)
    {
        using var t = Tiny(kind);
        using var images = Data.Images.narrow(0, 0, 5);
        using var a = t.Encode(images);
        using var b = t.Encode(images);
        Assert.Equal(new long[] { 5, t.TargetShape[0], t.TargetShape[1] }, a.shape);
        Assert.True(a.eq(b).all().item<bool>());
        Assert.False(a.requires_grad);
        Assert.All(t.parameters(), p => Assert.False(p.requires_grad));
        Assert.False(t.training);
    }

    [Theory, MemberData(nameof(Kinds))]
    public void DecodeGivesThePictureShape(string kind)
    {
        using var t = Tiny(kind);
        using var emb = t.Encode(Data.Images.narrow(0, 0, 3));
        using var pic = t.Decode(emb)!;
        long[] expected = kind switch { "Depth" => [3, 32, 32], "Seg" => [3, 4, 32, 32], _ => [3, 3, 32, 32] };
        Assert.Equal(expected, pic.shape);
        Assert.False(pic.requires_grad);
        Assert.Throws<OlaVlm.Core.ShapeMismatchException>(() => t.Decode(zeros(3, t.TargetShape[0] + 1, t.TargetShape[1])));
    }

    [Fact]
    public void DepthTargetIsTheMeanOfTheChosenBlocks()
    {
        var cfg = DepthTeacherConfig.Tiny with { Depth = 5, TargetBlocks = [0, 2, 3, 4] };
        using var t = new DepthTeacher(cfg, CPU);
        using var images = Data.Images.narrow(0, 0, 2);
        using var target = t.Encode(images);
        using var _ = no_grad();
        var blocks = t.BlockFeatures(images);
        Assert.Equal(5, blocks.Count);
        using var manual = (blocks[0] + blocks[2] + blocks[3] + blocks[4]) / 4;
        Assert.True(allclose(target, manual, rtol: 1e-5, atol: 1e-6));
        // Block 1 is left out: including it gives something else.
        using var wrong = (blocks[0] + blocks[1] + blocks[2] + blocks[3]) / 4;
        Assert.False(allclose(target, wrong, rtol: 1e-5, atol: 1e-6));
    }

    [Theory, MemberData(nameof(Kinds))]
    public void ShortTrainingLowersTheLoss_AndLeavesTheTeacherFrozen(string kind)
    {
        using var t = Tiny(kind);
        var hashBefore = t.WeightsHash;
        var report = TeacherTrainer.Train(t, Data, 30, new TeacherTrainConfig { BatchSize = 8, LearningRate = 3e-3, WarmupSteps = 3 });
        Assert.Equal(30, report.Losses.Count);
        Assert.True(report.LastLoss < report.FirstLoss * 0.9, $"loss {report.FirstLoss} → {report.LastLoss}");
        Assert.All(t.parameters(), p => Assert.False(p.requires_grad));
        Assert.NotEqual(hashBefore, t.WeightsHash);
        var score = t.Evaluate(Data, batchSize: 10);
        Assert.All(score.Values.Values, v => Assert.False(double.IsNaN(v)));
    }

    [Fact]
    public void SameSeedSameWeights_OtherSeedOtherHash()
    {
        using var a = Tiny("Seg", 3); using var b = Tiny("Seg", 3); using var c = Tiny("Seg", 4);
        Assert.Equal(a.WeightsHash, b.WeightsHash);
        Assert.NotEqual(a.WeightsHash, c.WeightsHash);
    }

    [Fact]
    public void EncodeRejectsTheWrongImageSize()
    {
        using var t = Tiny("Depth");
        var e = Assert.Throws<OlaVlm.Core.ShapeMismatchException>(() => t.Encode(zeros(2, 3, 64, 64)));
        Assert.Contains("[2, 3, 64, 64]", e.Message);
    }
}
