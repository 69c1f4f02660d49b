using OlaVlm.Ola;

namespace OlaVlm.Tests.Ola;

public class OlaConfigTests
{
    [Fact]
    public void PaperDefaults()
    {
        var c = OlaConfig.Paper;
        Assert.Equal([OlaTask.Gen, OlaTask.Depth, OlaTask.Seg], c.Tasks);
        Assert.Equal(8, c.NumTaskTokens);
        Assert.Equal(0.3, c.ContrastiveWeight);
        Assert.Equal(2.0, c.LogitScaleInit);
        Assert.Equal(100.0, c.LogitScaleMax);
        Assert.Equal(EmbeddingLossReduction.MaskedBatchMean, c.LossReduction);   // the reference's intent
        Assert.Equal((4, 32, 1, 1), (c.PredictorHeads, c.PredictorDimHead, c.PredictorFfMult, c.PredictorDepth));
        Assert.All(c.Tasks, t => Assert.Equal(0.5, c.Spec(t).LossWeight));
        Assert.Equal((576, 1024), (c.Spec(OlaTask.Depth).NumTargetTokens, c.Spec(OlaTask.Depth).TargetDim));
        Assert.Equal((576, 1536), (c.Spec(OlaTask.Seg).NumTargetTokens, c.Spec(OlaTask.Seg).TargetDim));
        Assert.Equal((1, 1024), (c.Spec(OlaTask.Gen).NumTargetTokens, c.Spec(OlaTask.Gen).TargetDim));
        // Reference inner widths: depth works at the LLM width, seg/gen at the target width.
        Assert.Equal(4096, c.Spec(OlaTask.Depth).InnerDimFor(4096));
        Assert.Equal(1536, c.Spec(OlaTask.Seg).InnerDimFor(4096));
        Assert.True(c.EmbeddingLossActive(TrainingStage.Pretrain));
        Assert.False(c.EmbeddingLossActive(TrainingStage.Finetune));
        Assert.True((c with { EmbeddingLossInFinetune = true }).EmbeddingLossActive(TrainingStage.Finetune));
    }

    [Fact]
    public void LayersAt32AreThePapersAndAt8AreTheDocumentedRounding()
    {
        var c = OlaConfig.Paper;
        Assert.Equal([8, 20], c.LayersFor(OlaTask.Depth, 32));
        Assert.Equal([10, 18], c.LayersFor(OlaTask.Seg, 32));
        Assert.Equal([12, 20], c.LayersFor(OlaTask.Gen, 32));
        Assert.Equal([2, 5], c.LayersFor(OlaTask.Depth, 8));
        Assert.Equal([3, 5], c.LayersFor(OlaTask.Seg, 8));   // 2.5 → 3, 4.5 → 5
        Assert.Equal([3, 5], c.LayersFor(OlaTask.Gen, 8));
        // Collapsing layers are kept once; never below layer 1.
        Assert.Equal([1], c.LayersFor(OlaTask.Depth, 1));
        Assert.Equal([1, 2], c.LayersFor(OlaTask.Depth, 3)); // 0.75 → 1, 1.875 → 2
    }

    [Fact]
    public void ValidateNamesTheProblem()
    {
        var bad = OlaConfig.Paper with { NumTaskTokens = 7 };
        var e = Assert.Throws<ArgumentException>(() => bad.Validate());
        Assert.Contains("depth", e.Message);
        Assert.Contains("576", e.Message);
        Assert.Throws<ArgumentException>(() => (OlaConfig.Paper with { Tasks = [OlaTask.Gen, OlaTask.Gen] }).Validate());
        foreach (var n in new[] { 0, 4, 8, 16 }) (OlaConfig.Paper with { NumTaskTokens = n }).Validate();
    }
}

public class OlaConfigRatioTests
{
    [Theory]
    [InlineData(576, 8)]     // the paper: 8 per task beside 576 image tokens
    [InlineData(64, 1)]      // the miniature: round(8 · 64 / 576) = 1
    [InlineData(1, 1)]       // never below one token per task
    [InlineData(1152, 16)]
    public void TaskTokensKeepTheirShareOfTheVisualContext(int imageTokens, int perTask) =>
        Assert.Equal(perTask, OlaVlm.Ola.OlaConfig.Paper.ScaledToImageTokens(imageTokens).NumTaskTokens);

    [Fact]
    public void TheMiniaturesOlaVlmIsTheScaledPaperConfig()
    {
        Assert.Equal(1, OlaVlm.Experiments.ExperimentArms.MiniatureOla.NumTaskTokens);
        Assert.Equal(1, OlaVlm.Experiments.ExperimentArms.FullMeasurement.Ola.NumTaskTokens);
        Assert.Throws<ArgumentOutOfRangeException>(() => OlaVlm.Ola.OlaConfig.Paper.ScaledToImageTokens(0));
    }
}
