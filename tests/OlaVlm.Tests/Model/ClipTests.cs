using OlaVlm.Model;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Model;

public class ClipTests
{
    [Fact]
    public void VisionFeaturesComeFromTheSelectedLayerWithoutClassToken()
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        var tower = new ClipVisionModel(Tiny.Vision(), Tiny.Cpu);
        var pixels = randn(2, 3, 16, 16);
        using var _ = no_grad();
        var states = tower.VisionModel.HiddenStates(pixels);
        Assert.Equal(4, states.Count);                                      // input + 3 layers
        var f = tower.forward(pixels);                                      // default −2
        Assert.Equal(new long[] { 2, 16, 32 }, f.shape);
        Assert.True(Tiny.MaxDiff(f, states[^2][.., 1..]) == 0);
        Assert.True(Tiny.MaxDiff(tower.Features(pixels, -1), states[^1][.., 1..]) == 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => tower.Features(pixels, 4));
        var e = Assert.Throws<OlaVlm.Core.ShapeMismatchException>(() => tower.forward(randn(1, 3, 20, 20)));
        Assert.Contains("patches", e.Message);
    }

    /// The patch embedding is computed as a matmul (no oneDNN convolution, see ClipVisionEmbeddings.PatchEmbed):
    /// the same numbers as the convolution, also for an image with pixels past the last whole patch.
    /// (In bf16: Bf16MatmulTests.)
    [Fact]
    public void PatchEmbeddingAsAMatmulEqualsTheConvolution()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var emb = new ClipVisionEmbeddings(Tiny.Vision());
        var p = emb.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        var pixels = randn(3, 3, 18, 18);   // 16×16 of whole 4×4 patches + 2 stray rows and columns
        using var _ = no_grad();
        var conv = nn.functional.conv2d(pixels, p["patch_embedding.weight"], strides: [4, 4]).flatten(2).transpose(1, 2);
        var expected = cat([p["class_embedding"].view(1, 1, -1).expand(3, 1, -1), conv], 1) + p["position_embedding.weight"].unsqueeze(0);
        Assert.True(Tiny.MaxDiff(emb.forward(pixels), expected) < 1e-5);
    }

    [Fact]
    public void TextPoolingIgnoresPaddingAndIsCausal()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var text = new ClipTextModel(new ClipTextConfig(30, 32, 64, 2, 4, MaxPositionEmbeddings: 16), Tiny.Cpu);
        var ids = randint(1, 30, [1, 5]);
        using var _ = no_grad();
        var (lastA, pooledA) = text.forward(ids);
        var padded = cat([ids, zeros(1, 3, dtype: ScalarType.Int64)], 1);
        var (lastB, pooledB) = text.forward(padded, cat([ones(1, 5), zeros(1, 3)], 1).to(ScalarType.Int64));
        Assert.True(Tiny.MaxDiff(pooledA, pooledB) < 1e-5);
        Assert.True(Tiny.MaxDiff(pooledA[0], lastA[0, 4]) == 0);
        Assert.True(Tiny.MaxDiff(lastA, lastB[.., ..5]) < 1e-5);
    }

    [Fact]
    public void ContrastiveLossIsSymmetricAndTrainsAMiniClip()
    {
        using var scope = NewDisposeScope();
        var a = nn.functional.normalize(randn(4, 8), dim: -1);
        var b = nn.functional.normalize(randn(4, 8), dim: -1);
        var s = tensor(2.6592f);
        Assert.Equal(ClipLoss.Compute(a, b, s).item<float>(), ClipLoss.Compute(b, a, s).item<float>(), 1e-5);
        Assert.True(ClipLoss.Compute(a, a, s).item<float>() < ClipLoss.Compute(a, b, s).item<float>());

        manual_seed(2);
        var clip = new ClipModel(new ClipConfig(new ClipTextConfig(30, 32, 64, 2, 4, 16), Tiny.Vision(), 16), Tiny.Cpu);
        var pixels = randn(4, 3, 16, 16); var ids = randint(1, 30, [4, 6]);
        var opt = optim.AdamW(clip.parameters(), lr: 3e-3);
        float first = 0, last = 0;
        for (int i = 0; i < 25; i++)
        {
            using var step = NewDisposeScope();
            opt.zero_grad();
            var loss = clip.Loss(pixels, ids);
            loss.backward(); opt.step();
            last = loss.item<float>(); if (i == 0) first = last;
        }
        Assert.True(last < first * 0.5, $"CLIP loss {first:F3} → {last:F3}");
    }
}
