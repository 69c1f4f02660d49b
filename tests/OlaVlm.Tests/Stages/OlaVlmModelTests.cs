using OlaVlm.Model;
using OlaVlm.Ola;
using OlaVlm.Stages;
using OlaVlm.Training;
using Xunit;
using static TorchSharp.torch;
using static OlaVlm.Tests.Stages.StageFixture;

namespace OlaVlm.Tests.Stages;

[Collection(SerialTorchCollection.Name)]
public class OlaVlmModelTests
{
    static (IReadOnlyList<MultimodalSample> Samples, Tensor? Pixels, Dictionary<OlaTask, Tensor> Targets) Batch(InMemoryStageData data, int n = 4)
    {
        var b = data.Batch(7, 0, n, CPU);
        var t = TeacherTargets.ForBatch(Targets(), b.HasImage, b.ImageKeys, CPU);
        return (b.Samples, b.Pixels, t);
    }

    [Fact]
    public void Embedding_loss_is_positive_for_images_and_reaches_projector_and_task_tokens()
    {
        var m = NewModel();
        Freezing.Freeze(m);
        Freezing.SetRequiresGrad(m, "llava.mm_projector", true);
        Freezing.SetRequiresGrad(m, "ola", true);
        var (samples, pixels, targets) = Batch(NewData());
        using var fw = m.forward(pixels, samples, targets);
        Assert.True(fw.Emb.item<float>() > 0);
        Assert.Equal(fw.Ntp.item<float>() + fw.Emb.item<float>(), fw.Total.item<float>(), 1e-4);
        fw.Emb.backward();
        foreach (var name in new[] { "llava.mm_projector", "ola.task_tokens" })
        {
            var grads = m.named_parameters().Where(p => Freezing.HasPrefix(p.name, name)).Select(p => p.parameter.grad).ToList();
            Assert.NotEmpty(grads);
            Assert.Contains(grads, g => g is not null && g.abs().sum().item<float>() > 0);
        }
    }

    [Fact]
    public void Embedding_loss_is_exactly_zero_for_text_only_samples()
    {
        var m = NewModel();
        var data = NewData(8, textOnly: 1.0);
        var (samples, pixels, targets) = Batch(data, 4);
        Assert.Null(pixels);
        using var fw = m.forward(pixels, samples, targets);
        Assert.Equal(0f, fw.Emb.item<float>());
        Assert.NotNull(fw.Heads);
        Assert.All(fw.Heads!.Parts, p => Assert.Equal(0f, p.Weighted.item<float>()));
    }

    [Theory]
    [InlineData(EmbeddingLossReduction.MaskedBatchMean)]
    [InlineData(EmbeddingLossReduction.ImageSamplesOnly)]
    public void Text_only_rows_enter_the_embedding_loss_as_the_reduction_says(EmbeddingLossReduction reduction)
    {
        var m = NewModel(reduction: reduction);
        m.eval();
        var img = Enumerable.Range(0, 2).Select(i => Sample(i, true)).ToList();
        var mixed = img.Append(Sample(50, false)).ToList();
        var pixels = stack([Image(0), Image(1)], 0);
        var t2 = TeacherTargets.ForBatch(Targets(), [true, true], ["img0", "img1"], CPU);
        var t3 = TeacherTargets.ForBatch(Targets(), [true, true, false], ["img0", "img1"], CPU);
        using var a = m.forward(pixels, img, t2);
        using var b = m.forward(pixels, mixed, t3);
        if (reduction == EmbeddingLossReduction.ImageSamplesOnly)
            Assert.Equal(a.Emb.item<float>(), b.Emb.item<float>(), 1e-4);
        else   // whole-batch mean: 2 image rows of 3, so each smooth-L1 part is 2/3 of the image-only one
            foreach (var (pa, pb) in a.Heads!.Parts.Zip(b.Heads!.Parts))
                Assert.Equal(2.0 / 3 * pa.SmoothL1.item<float>(), pb.SmoothL1.item<float>(), 1e-4);
    }

    [Fact]
    public void Baseline_and_disabled_heads_give_the_same_next_token_loss()
    {
        var ola = NewModel(heads: true, seed: 3);
        var baseline = NewModel(heads: false, seed: 3);
        var (samples, pixels, _) = Batch(NewData(8, textOnly: 0.25), 4);
        ola.HeadsEnabled = false;
        using var a = ola.forward(pixels, samples);
        using var b = baseline.forward(pixels, samples);
        Assert.Equal(a.Ntp.item<float>(), b.Ntp.item<float>());
        Assert.Equal(0f, a.Emb.item<float>());
        // With the heads on, the task tokens enter the sequence and the loss moves.
        ola.HeadsEnabled = true;
        using var c = ola.forward(pixels, samples);
        Assert.NotEqual(a.Ntp.item<float>(), c.Ntp.item<float>());
    }

    [Fact]
    public void Generate_inserts_task_tokens_and_save_load_round_trips()
    {
        var m = NewModel(seed: 5);
        m.eval();
        var prompt = Sample(1, true).InputIds[..7];
        var pixels = Image(1).unsqueeze(0);
        var opts = new GenerationOptions(MaxNewTokens: 5);
        var ans = m.Generate([prompt], pixels, opts);
        Assert.Single(ans);
        Assert.InRange(ans[0].Length, 1, 5);

        var file = Path.Combine(RunDir("saveload"), "model.safetensors");
        m.Save(file);
        var other = NewModel(seed: 99);
        other.eval();
        other.Load(file);
        Assert.Equal(ans[0], other.Generate([prompt], pixels, opts)[0]);
        foreach (var (name, p) in m.named_parameters().Select(x => (x.name, x.parameter)))
            Assert.True(Same(p, other.get_parameter(name) ?? throw new Xunit.Sdk.XunitException($"{name} missing after reload")), name);
        // Without the heads the same weights answer through a different (shorter) sequence.
        var baseline = NewModel(heads: false);
        Assert.Throws<OlaVlm.Core.CheckpointMismatchException>(() => baseline.Load(file));
    }

    [Fact]
    public void ForTeachers_takes_target_shapes_from_the_teachers()
    {
        var shapes = new Dictionary<OlaTask, long[]> { [OlaTask.Depth] = [16, 40], [OlaTask.Seg] = [16, 24], [OlaTask.Gen] = [1, 12] };
        var cfg = OlaConfig.Miniature.ForTeachers(shapes);
        Assert.Equal((16, 40), (cfg.Spec(OlaTask.Depth).NumTargetTokens, cfg.Spec(OlaTask.Depth).TargetDim));
        Assert.Equal(24, cfg.Spec(OlaTask.Seg).TargetDim);
        Assert.Equal(12, cfg.Spec(OlaTask.Gen).TargetDim);
        Assert.Equal(OlaConfig.Miniature.Spec(OlaTask.Depth).PaperLayers, cfg.Spec(OlaTask.Depth).PaperLayers);
        var e = Assert.Throws<ArgumentException>(() => OlaConfig.Miniature.ForTeachers(new Dictionary<OlaTask, long[]> { [OlaTask.Depth] = [16, 4] }));
        Assert.Contains("gen", e.Message);
        Assert.Throws<ArgumentException>(() => (OlaConfig.Miniature with { NumTaskTokens = 8 }).ForTeachers(
            new Dictionary<OlaTask, long[]> { [OlaTask.Depth] = [12, 4], [OlaTask.Seg] = [16, 4], [OlaTask.Gen] = [1, 4] }));
    }
}
