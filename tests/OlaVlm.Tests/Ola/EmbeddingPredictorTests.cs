using OlaVlm.Ola;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Ola;

public class EmbeddingPredictorTests
{
    const int Layers = 8;

    [Fact]
    public void OutputShapesPerTaskAndLayer()
    {
        using var heads = new OlaHeads(OlaTestData.Config(), OlaTestData.Hidden, Layers, CPU);
        var batch = OlaTestData.Make(heads, [true, false, true], Layers);
        var output = heads.Forward(batch.LayerStates, batch.Layout);
        Assert.Equal(6, output.Predictions.Count);
        foreach (var l in heads.Layers(OlaTask.Depth)) Assert.Equal(new long[] { 3, 4, 6 }, output.Predictions[(OlaTask.Depth, l)].shape);
        foreach (var l in heads.Layers(OlaTask.Seg)) Assert.Equal(new long[] { 3, 4, 5 }, output.Predictions[(OlaTask.Seg, l)].shape);
        foreach (var l in heads.Layers(OlaTask.Gen)) Assert.Equal(new long[] { 3, 1, 7 }, output.Predictions[(OlaTask.Gen, l)].shape);
        Assert.Empty(output.Parts);
        Assert.Equal(0f, output.Loss.item<float>());
        Assert.DoesNotContain(output.Predictions.Values, p => p.isnan().any().item<bool>());
        // A Hugging Face style list (embeddings first) gives the same predictions.
        var hf = new List<Tensor> { zeros_like(batch.LayerStates[0]) };
        hf.AddRange(batch.LayerStates);
        var again = heads.Forward(hf, batch.Layout);
        Assert.True(again.Predictions[(OlaTask.Gen, 5)].allclose(output.Predictions[(OlaTask.Gen, 5)], rtol: 0, atol: 0));
    }

    [Theory]
    [InlineData(OlaTask.Depth)]
    [InlineData(OlaTask.Gen)]
    [InlineData(OlaTask.Seg)]
    public void OtherTasksTokensAndPaddingCannotChangeAPrediction(OlaTask task)
    {
        using var heads = new OlaHeads(OlaTestData.Config(n: 2), OlaTestData.Hidden, Layers, CPU);
        var batch = OlaTestData.Make(heads, [true, true], Layers, pad: 2);
        using var _ = no_grad();
        var before = heads.Forward(batch.LayerStates, batch.Layout).Predictions;

        int blockStart = OlaTestData.Sys + OlaTestData.Img, n = 2;
        var own = Enumerable.Range(blockStart + heads.TaskTokens.Offset(task), n).ToHashSet();
        var others = Enumerable.Range(blockStart, heads.TaskTokens.BlockLength).Where(p => !own.Contains(p));
        var padding = Enumerable.Range(batch.T - 2, 2);
        var changed = batch.LayerStates.Select(h =>
        {
            var c = h.clone();
            foreach (var p in others.Concat(padding)) c[.., p] = randn(2, OlaTestData.Hidden) * 100;
            return c;
        }).ToList();
        var after = heads.Forward(changed, batch.Layout).Predictions;
        foreach (var l in heads.Layers(task))
            Assert.True(after[(task, l)].allclose(before[(task, l)], rtol: 0, atol: 0), $"{task} layer {l} changed");

        // Sanity: its own tokens do matter.
        var ownChanged = batch.LayerStates.Select(h => { var c = h.clone(); foreach (var p in own) c[.., p] = randn(2, OlaTestData.Hidden) * 100; return c; }).ToList();
        var l0 = heads.Layers(task)[0];
        Assert.False(heads.Forward(ownChanged, batch.Layout).Predictions[(task, l0)].allclose(before[(task, l0)]));
    }

    [Fact]
    public void AttentionWithEveryMediaPositionMaskedIsStillFinite()
    {
        using var attn = new PerceiverAttention(8, 4, 2, CPU);
        var y = attn.forward(randn(2, 5, 8), randn(2, 3, 8), zeros(2, 5, dtype: ScalarType.Bool));
        Assert.Equal(new long[] { 2, 3, 8 }, y.shape);
        Assert.False(y.isnan().any().item<bool>());
    }

    [Fact]
    public void BadQueryShapeThrowsNamingShapes()
    {
        using var p = new EmbeddingPredictor(hidden: 8, innerDim: 8, targetDim: 3, heads: 2, dimHead: 4, device: CPU);
        var e = Assert.ThrowsAny<ArgumentException>(() => p.forward(randn(2, 5, 8), null, randn(2, 4, 7)));
        Assert.Contains("[2, 4, 7]", e.Message);
    }
}
