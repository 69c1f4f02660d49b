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

    /// pixels [B, C, H, W] → (tokens [B, h·w, EmbedDim] row-major, h = ⌈H/P⌉, w = ⌈W/P⌉).
    /// The P×P / stride-P convolution is computed as the matrix product it is (patches flattened in (channel, row,
    /// column) order times the kernel viewed as [EmbedDim, C·P·P]), as ClipVisionEmbeddings does: the same numbers,
    /// and it never meets libtorch's faulty oneDNN convolutions (Core.OneDnn). The parameter stays the Conv2d's.
    public (Tensor Tokens, long Height, long Width) forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var w = projection.weight!;
        long b = pixels.shape[0], c = pixels.shape[1], height = pixels.shape[2], width = pixels.shape[3];
        if (c != w.shape[1])
            throw new Core.ShapeMismatchException($"SwinPatchEmbeddings: pixels have {c} channels, the projection expects {w.shape[1]} (pixels {Core.Checked.Fmt(pixels.shape)})");
        long padW = (patch - width % patch) % patch, padH = (patch - height % patch) % patch;
        var x = padW > 0 || padH > 0 ? nn.functional.pad(pixels, [0, padW, 0, padH]) : pixels;
        long rows = (height + padH) / patch, cols = (width + padW) / patch;
        var flat = x.reshape(b, c, rows, patch, cols, patch).permute(0, 2, 4, 1, 3, 5).reshape(b, rows * cols, c * patch * patch);
        var tokens = nn.functional.linear(flat, w.view(w.shape[0], -1), projection.bias);
        return (tokens.MoveToOuterDisposeScope(), rows, cols);
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
