using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace OlaVlm.Teachers.DepthAnything;

/// DINOv2 vision transformer as Depth-Anything-V2 uses it (dinov2.py DinoVisionTransformer): patch embedding,
/// class token, learned positions for the native grid (interpolated to any other), LayerScale blocks, final norm.
/// Parameter names are the checkpoint's: patch_embed.proj, cls_token, pos_embed, mask_token, blocks.i.*, norm.
public sealed class Dinov2 : Module<Tensor, Tensor>
{
    readonly Dinov2PatchEmbed patch_embed;
    readonly Parameter cls_token, pos_embed, mask_token;
    readonly ModuleList<Dinov2Block> blocks;
    readonly LayerNorm norm;
    public Dinov2Config Config { get; }

    public Dinov2(Dinov2Config c) : base(nameof(Dinov2))
    {
        Config = c;
        patch_embed = new Dinov2PatchEmbed(c.PatchSize, c.EmbedDim);
        cls_token = new Parameter(randn(1, 1, c.EmbedDim) * 1e-6);
        pos_embed = new Parameter(randn(1, c.NativeGrid * c.NativeGrid + 1, c.EmbedDim) * 0.02);
        mask_token = new Parameter(zeros(1, c.EmbedDim));   // masked pre-training only; kept so checkpoints load strictly
        blocks = new ModuleList<Dinov2Block>(Enumerable.Range(0, c.Depth).Select(_ => new Dinov2Block(c)).ToArray());
        norm = LayerNorm(c.EmbedDim, c.LayerNormEps);
        RegisterComponents();
    }

    /// Normed class tokens of the last block [B, D] (DINOv2's default forward).
    public override Tensor forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        return IntermediateLayers(pixels, [Config.Depth - 1])[0].Cls.MoveToOuterDisposeScope();
    }

    /// get_intermediate_layers(x, blocks, return_class_token=True, norm=True): for each listed block (0-based,
    /// increasing) its output after the final LayerNorm, split into patch tokens [B, gh·gw, D] and class token [B, D].
    /// Blocks after the last listed one are not run (their outputs are never read).
    public List<(Tensor Patches, Tensor Cls)> IntermediateLayers(Tensor pixels, IReadOnlyList<int> take)
    {
        if (take.Count == 0 || take.Any(i => i < 0 || i >= Config.Depth) || take.Zip(take.Skip(1)).Any(p => p.First >= p.Second))
            throw new ArgumentException($"Dinov2: blocks [{string.Join(", ", take)}] must be increasing and lie in 0..{Config.Depth - 1}");
        using var scope = NewDisposeScope();
        var x = PrepareTokens(pixels);
        var outs = new List<(Tensor, Tensor)>();
        for (int i = 0; i <= take.Max(); i++)
        {
            x = blocks[i].forward(x);
            if (!take.Contains(i)) continue;
            var normed = norm.forward(x);
            outs.Add((normed[.., 1..].MoveToOuterDisposeScope(), normed[.., 0].MoveToOuterDisposeScope()));
        }
        return outs;
    }

    /// Patch tokens with the class token in front, plus positions: [B, 1 + gh·gw, D].
    public Tensor PrepareTokens(Tensor pixels)
    {
        long h = pixels.shape[^2], w = pixels.shape[^1];
        if (pixels.dim() != 4 || h % Config.PatchSize != 0 || w % Config.PatchSize != 0)
            throw new Core.ShapeMismatchException($"Dinov2: pixels {Core.Checked.Fmt(pixels.shape)} must be [B, 3, H, W] with H and W multiples of the patch size {Config.PatchSize}");
        using var scope = NewDisposeScope();
        var x = patch_embed.forward(pixels.to(pos_embed.dtype));
        x = cat([cls_token.expand(x.shape[0], -1, -1), x], 1);
        return (x + InterpolatePosEncoding(x.shape[1] - 1, h, w)).MoveToOuterDisposeScope();
    }

    /// interpolate_pos_encoding: positions for an h × w image. The native grid's positions are resampled bicubically
    /// (no antialias) with scale factors ((h/p + 0.1)/√N, (w/p + 0.1)/√N) passed to the kernel as given: the 0.1 offset
    /// (DINO's work-around for floating-point output sizes) shifts where every output position samples, so reproducing
    /// the numbers needs the same scale factors, not just the same output size. Used as is when the patch count is the
    /// native one and the image square.
    public Tensor InterpolatePosEncoding(long patches, long h, long w)
    {
        long n = pos_embed.shape[1] - 1;
        if (patches == n && h == w) return pos_embed;
        using var scope = NewDisposeScope();
        var pos = pos_embed.to(ScalarType.Float32);
        long dim = pos.shape[2], grid = (long)Math.Sqrt(n);
        double h0 = h / Config.PatchSize + Config.InterpolateOffset, w0 = w / Config.PatchSize + Config.InterpolateOffset;
        var grid4 = pos[.., 1..].reshape(1, grid, grid, dim).permute(0, 3, 1, 2);
        var resized = functional.interpolate(grid4, scale_factor: [h0 / Math.Sqrt(n), w0 / Math.Sqrt(n)],
            mode: InterpolationMode.Bicubic, align_corners: false, recompute_scale_factor: false);
        if (resized.shape[2] != (long)h0 || resized.shape[3] != (long)w0)
            throw new InvalidOperationException($"Dinov2: position grid resized to {resized.shape[2]}x{resized.shape[3]}, expected {(long)h0}x{(long)w0}");
        var patch = resized.permute(0, 2, 3, 1).reshape(1, -1, dim);
        return cat([pos[.., ..1], patch], 1).to(pos_embed.dtype).MoveToOuterDisposeScope();
    }
}

/// patch_embed.proj: the P×P, stride-P convolution (with bias), computed as a matmul (Model.PatchEmbedding).
sealed class Dinov2PatchEmbed : Module<Tensor, Tensor>
{
    readonly Conv2d proj;
    public Dinov2PatchEmbed(int patchSize, int dim) : base(nameof(Dinov2PatchEmbed))
    {
        proj = Conv2d(3, dim, patchSize, stride: patchSize);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x) => Model.PatchEmbedding.AsMatmul(x, proj.weight!, proj.bias, "Dinov2.patch_embed");
}
