using OlaVlm.Ola;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Ola;

public class OlaHeadsTests
{
    const int Layers = 8;

    [Fact]
    public void ImageSamplesGiveAPositiveLossWhoseGradientReachesProjectorTaskTokensAndScales()
    {
        using var heads = new OlaHeads(OlaTestData.Config(), OlaTestData.Hidden, Layers, CPU);
        var batch = OlaTestData.Make(heads, [true, false, true], Layers);
        var output = heads.Forward(batch.LayerStates, batch.Layout, batch.Targets);
        Assert.True(output.Loss.item<float>() > 0);
        Assert.Equal(6, output.Parts.Count);
        Assert.All(output.Parts, p => Assert.True(p.SmoothL1.item<float>() > 0 && p.InfoNce.item<float>() > 0));
        Assert.Equal(output.Loss.item<float>(), output.Parts.Sum(p => p.Weighted.item<float>()), 1e-4);
        var log = output.ToLog();
        Assert.Contains("depth/L2/sl1", log.Keys);
        Assert.Equal(output.Loss.item<float>(), log["gen"] + log["depth"] + log["seg"], 1e-4);

        output.Loss.backward();
        var g = batch.ProjectorOut.grad!;
        Assert.True(g[0].abs().sum().item<float>() > 0);        // image sample 0
        Assert.True(g[2].abs().sum().item<float>() > 0);        // image sample 2
        Assert.Equal(0f, g[1].abs().sum().item<float>());       // sample 1 is text-only: its slot is unused
        foreach (var task in heads.Config.Tasks)
        {
            Assert.True(heads.TaskTokens.Query(task).grad!.abs().sum().item<float>() > 0, $"{task} tokens get no gradient");
            Assert.NotEqual(0f, heads.LogitScale(task)!.grad!.item<float>());
        }
    }

    [Fact]
    public void TextOnlyBatchGivesExactlyZero()
    {
        using var heads = new OlaHeads(OlaTestData.Config(), OlaTestData.Hidden, Layers, CPU);
        var batch = OlaTestData.Make(heads, [false, false], Layers);
        var output = heads.Forward(batch.LayerStates, batch.Layout, batch.Targets);
        Assert.Equal(0f, output.Loss.item<float>());
        Assert.All(output.Parts, p => Assert.Equal(0f, p.Weighted.item<float>()));
    }

    [Fact]
    public void UnderImageSamplesOnlyTextOnlySamplesDoNotChangeTheLoss()
    {
        using var heads = new OlaHeads(OlaTestData.Config() with { LossReduction = EmbeddingLossReduction.ImageSamplesOnly }, OlaTestData.Hidden, Layers, CPU);
        var batch = OlaTestData.Make(heads, [true, false, true], Layers);
        using var _ = no_grad();
        var mixed = heads.Forward(batch.LayerStates, batch.Layout, batch.Targets).Loss.item<float>();
        var keep = tensor(new long[] { 0, 2 });
        var layout = new OlaBatchLayout(batch.Layout.AttentionMask.index_select(0, keep),
                                        [batch.Layout.ImageStart[0], batch.Layout.ImageStart[2]],
                                        [batch.Layout.TaskStart[0], batch.Layout.TaskStart[2]]);
        var only = heads.Forward(batch.LayerStates.Select(h => h.index_select(0, keep)).ToList(), layout,
                                 batch.Targets.ToDictionary(kv => kv.Key, kv => kv.Value.index_select(0, keep))).Loss.item<float>();
        Assert.Equal(only, mixed, 1e-5);
    }

    [Fact]
    public void TheDefaultReductionAveragesOverTheWholeBatch()
    {
        Assert.Equal(EmbeddingLossReduction.MaskedBatchMean, OlaConfig.Paper.LossReduction);
        Assert.Equal(EmbeddingLossReduction.MaskedBatchMean, OlaConfig.Miniature.LossReduction);
        manual_seed(7);
        using var def = new OlaHeads(OlaTestData.Config(), OlaTestData.Hidden, Layers, CPU);
        using var img = new OlaHeads(OlaTestData.Config() with { LossReduction = EmbeddingLossReduction.ImageSamplesOnly }, OlaTestData.Hidden, Layers, CPU);
        img.load_state_dict(def.state_dict());
        var batch = OlaTestData.Make(def, [true, false, true], Layers);
        using var _ = no_grad();
        var a = def.Forward(batch.LayerStates, batch.Layout, batch.Targets);
        var b = img.Forward(batch.LayerStates, batch.Layout, batch.Targets);
        // Same predictions; every smooth-L1 part is 2/3 of the image-rows mean (2 image samples of 3).
        Assert.True(a.Predictions[(OlaTask.Gen, 3)].allclose(b.Predictions[(OlaTask.Gen, 3)], rtol: 0, atol: 0));
        foreach (var (pa, pb) in a.Parts.Zip(b.Parts))
            Assert.Equal(2.0 / 3 * pb.SmoothL1.item<float>(), pa.SmoothL1.item<float>(), 1e-5);
    }

    [Fact]
    public void AblationSwitches()
    {
        // No contrastive term: no logit scales, InfoNCE parts are 0.
        var noCon = OlaTestData.Config() with { UseContrastive = false, Tasks = [OlaTask.Depth] };
        using var heads = new OlaHeads(noCon, OlaTestData.Hidden, Layers, CPU);
        Assert.Null(heads.LogitScale(OlaTask.Depth));
        Assert.DoesNotContain(heads.named_parameters(), p => p.name.Contains("logit_scale"));
        var batch = OlaTestData.Make(heads, [true, true], Layers);
        var output = heads.Forward(batch.LayerStates, batch.Layout, batch.Targets);
        Assert.Equal(2, output.Parts.Count);
        Assert.All(output.Parts, p => Assert.Equal(0f, p.InfoNce.item<float>()));

        // No task tokens (N = 0): the block is empty and gen falls back to its learned query.
        using var none = new OlaHeads(OlaTestData.Config(n: 0), OlaTestData.Hidden, Layers, CPU);
        var b0 = OlaTestData.Make(none, [true, false], Layers);
        var o0 = none.Forward(b0.LayerStates, b0.Layout, b0.Targets);
        Assert.True(o0.Loss.item<float>() > 0);
        Assert.Equal(new long[] { 2, 1, 7 }, o0.Predictions[(OlaTask.Gen, 3)].shape);
    }

    [Fact]
    public void ParameterNamesFollowTheReference()
    {
        using var heads = new OlaHeads(OlaTestData.Config(), OlaTestData.Hidden, Layers, CPU);
        var names = heads.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("task_tokens.special_gen_tokens", names);
        Assert.Contains("depth_logit_scale", names);
        Assert.Contains("image_depth_heads.0.proj_in.weight", names);
        Assert.Contains("image_seg_heads.1.layers.0.0.to_kv.weight", names);
        Assert.Contains("image_gen_heads.0.layers.0.1.3.weight", names);
        Assert.Contains("image_gen_heads.0.norm_out.weight", names);
    }
}
