using OlaVlm.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Teachers.OneFormer;

/// HF SwinPatchEmbeddings: non-overlapping P×P patches → EmbedDim channels. An input whose height or width is
/// not a multiple of P is first zero-padded on the bottom / right (HF's maybe_pad), so 90×78 gives 23×20 patches.
public sealed class SwinPatchEmbeddings : nn.Module
{
    private readonly Conv2d projection;
    private readonly int patch;

    public SwinPatchEmbeddings(SwinConfig c, Device? device = null) : base(nameof(SwinPatchEmbeddings))
    {
        patch = c.PatchSize;
        projection = nn.Conv2d(c.NumChannels, c.EmbedDim, c.PatchSize, stride: c.PatchSize, device: device);
        RegisterComponents();
    }

    /// pixels [B, C, H, W] → (tokens [B, h·w, EmbedDim] row-major, h = ⌈H/P⌉, w = ⌈W/P⌉). The P×P / stride-P
    /// convolution is computed as the matrix product it is (Model.PatchEmbedding.AsMatmul says why).
    public (Tensor Tokens, long Height, long Width) forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        if (pixels.dim() != 4)
            throw new Core.ShapeMismatchException($"SwinPatchEmbeddings: pixels {Core.Checked.Fmt(pixels.shape)} are not [B, C, H, W]");
        long height = pixels.shape[2], width = pixels.shape[3];
        long padW = (patch - width % patch) % patch, padH = (patch - height % patch) % patch;
        var x = padW > 0 || padH > 0 ? nn.functional.pad(pixels, [0, padW, 0, padH]) : pixels;
        var tokens = PatchEmbedding.AsMatmul(x, projection.weight!, projection.bias, nameof(SwinPatchEmbeddings));
        return (tokens.MoveToOuterDisposeScope(), (height + padH) / patch, (width + padW) / patch);
    }
}

/// HF SwinEmbeddings: patch embedding then LayerNorm (HF builds it with nn.LayerNorm's default eps, 1e-5, not the
/// config's layer_norm_eps). No absolute positions and no mask token: OneFormer's Swin uses neither.
public sealed class SwinEmbeddings : nn.Module
{
    private readonly SwinPatchEmbeddings patch_embeddings;
    private readonly LayerNorm norm;

    public SwinEmbeddings(SwinConfig c, Device? device = null) : base(nameof(SwinEmbeddings))
    {
        patch_embeddings = new SwinPatchEmbeddings(c, device);
        norm = nn.LayerNorm(c.EmbedDim, eps: 1e-5, device: device);
        RegisterComponents();
    }

    public (Tensor Tokens, long Height, long Width) forward(Tensor pixels)
    {
        var (tokens, h, w) = patch_embeddings.forward(pixels);
        using (tokens) return (norm.forward(tokens), h, w);
    }
}
