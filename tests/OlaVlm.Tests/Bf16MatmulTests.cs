using OlaVlm.Core;
using OlaVlm.Model;
using OlaVlm.Tests.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Tests;

/// bf16 scopes (Bf16Matmul): oneDNN's bf16 matmul is checked, switched on only inside the scope, gives the
/// answers of ATen's own bf16 kernels, and the CLIP tower's patch embedding is right in bf16 too.
/// Serial: the oneDNN switch is process-wide, and a parallel test's fp32 convolution must not see it on.
[Collection(SerialCollection.Name)]
public class Bf16MatmulTests
{
    [SkippableFact]
    public void CheckPassesAndTheScopeSwitchesOneDnnOnlyInside()
    {
        Skip.If(Bf16Matmul.LastCheck.Skipped is not null, Bf16Matmul.LastCheck.Skipped);
        var check = Bf16Matmul.LastCheck;
        Assert.True(check.Passed, check.ToString());
        // Both paths carry bf16's rounding only: a few 1e-3, far from a wrong kernel's 0.1–1.
        Assert.All(check.Cases, c => Assert.InRange(c.AtenError, 0, 2e-2));
        bool before = OneDnn.Enabled;
        bool inside = Bf16Matmul.Run(ScalarType.BFloat16, () => OneDnn.Enabled);
        bool fp32 = Bf16Matmul.Run(ScalarType.Float32, () => OneDnn.Enabled);
        Assert.Equal(before, OneDnn.Enabled);
        Assert.Equal(before, fp32);
        if (Bf16Matmul.Active) Assert.True(inside);
        Assert.False(Bf16Matmul.WithoutOneDnn(() => OneDnn.Enabled));
    }

    /// A bf16 decoder's loss and gradients inside a scope match ATen's own bf16 kernels (outside one).
    [SkippableFact]
    public void Bf16DecoderStepAgreesInsideAndOutsideTheScope()
    {
        Skip.If(!Bf16Matmul.Active, Bf16Matmul.Describe());
        using var scope = NewDisposeScope();
        using var lm = Tiny.Lm(seed: 3);
        lm.to(ScalarType.BFloat16);
        var ids = randint(5, 40, [3, 12], generator: new Generator(1));
        (float Loss, Tensor Grad) Step()
        {
            lm.zero_grad();
            using var output = lm.forward(inputIds: ids);
            var loss = LlamaForCausalLM.CausalLmLoss(output.Logits, ids);
            loss.backward();
            return (loss.item<float>(), lm.Model.EmbedTokens.weight!.grad!.to(ScalarType.Float32).clone());
        }
        var outside = OneDnn.With(false, Step);
        var inside = Bf16Matmul.Run(ScalarType.BFloat16, Step);
        Assert.True(Math.Abs(outside.Loss - inside.Loss) < 2e-2 * Math.Abs(outside.Loss), $"loss {outside.Loss} vs {inside.Loss}");
        double rel = (outside.Grad - inside.Grad).abs().max().item<float>() / outside.Grad.abs().max().item<float>();
        Assert.True(rel < 5e-2, $"embedding gradient differs by {rel:0.0e+0} of its scale");
    }

    /// In bf16 the tower's patch embedding (a matmul, ClipVisionEmbeddings.PatchEmbed) stays right inside a scope.
    [Fact]
    public void PatchEmbeddingInBf16MatchesTheFp32Convolution()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var emb = new ClipVisionEmbeddings(Tiny.Vision());
        var p = emb.named_parameters().ToDictionary(x => x.name, x => x.parameter.detach().clone());
        var pixels = randn(8, 3, 16, 16);
        using var _ = no_grad();
        var conv = nn.functional.conv2d(pixels, p["patch_embedding.weight"], strides: [4, 4]).flatten(2).transpose(1, 2);
        var expected = cat([p["class_embedding"].view(1, 1, -1).expand(8, 1, -1), conv], 1) + p["position_embedding.weight"].unsqueeze(0);
        emb.to(ScalarType.BFloat16);
        var half = Bf16Matmul.Run(ScalarType.BFloat16, () => emb.forward(pixels));
        Assert.Equal(ScalarType.BFloat16, half.dtype);
        Assert.True(Tiny.MaxDiff(half.to(ScalarType.Float32), expected) < 2e-2 * expected.abs().max().item<float>());
    }
}
