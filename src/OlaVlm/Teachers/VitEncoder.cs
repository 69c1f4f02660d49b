using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace OlaVlm.Teachers;

/// A small DINOv2-style ViT: patch embedding + learned positions + pre-norm transformer blocks.
/// Parameter names follow DINOv2 (patch_embed.proj, pos_embed, blocks.i.norm1/attn.qkv/attn.proj/norm2/
/// mlp.fc1/mlp.fc2, norm) so the code reads side by side with Depth-Anything-v2's backbone.
/// No CLS token: OLA-VLM's depth target uses patch tokens only.
public sealed class VitEncoder : Module<Tensor, Tensor>
{
    readonly PatchEmbed patch_embed;
    readonly Parameter pos_embed;
    readonly ModuleList<VitBlock> blocks;
    readonly LayerNorm norm;

    public int GridSize { get; }
    public int NumTokens => GridSize * GridSize;

    public VitEncoder(int imageSize, int patchSize, int dim, int depth, int heads, int mlpRatio) : base(nameof(VitEncoder))
    {
        if (imageSize % patchSize != 0) throw new ArgumentException($"image size {imageSize} is not a multiple of patch size {patchSize}");
        GridSize = imageSize / patchSize;
        patch_embed = new PatchEmbed(patchSize, dim);
        pos_embed = new Parameter(randn(1, NumTokens, dim) * 0.02f);
        blocks = new ModuleList<VitBlock>(Enumerable.Range(0, depth).Select(_ => new VitBlock(dim, heads, mlpRatio)).ToArray());
        norm = LayerNorm(dim);
        RegisterComponents();
    }

    /// Every block's output [B, N, D], each passed through the final LayerNorm (as DINOv2's
    /// get_intermediate_layers(norm=True), which DAv2 uses to read its four blocks).
    public List<Tensor> BlockOutputs(Tensor images)
    {
        var x = patch_embed.forward(images) + pos_embed;
        var outs = new List<Tensor>(blocks.Count);
        foreach (var b in blocks) { x = b.forward(x); outs.Add(norm.forward(x)); }
        return outs;
    }

    /// The last block's normalised output.
    public override Tensor forward(Tensor images) => BlockOutputs(images)[^1];
}

/// Non-overlapping patches → tokens [B, (H/p)·(W/p), D].
sealed class PatchEmbed : Module<Tensor, Tensor>
{
    readonly Conv2d proj;
    public PatchEmbed(int patchSize, int dim) : base(nameof(PatchEmbed))
    {
        proj = Conv2d(3, dim, patchSize, stride: patchSize);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x) => proj.forward(x).flatten(2).transpose(1, 2);
}

/// Pre-norm transformer block: x + attn(norm1(x)); x + mlp(norm2(x)).
sealed class VitBlock : Module<Tensor, Tensor>
{
    readonly LayerNorm norm1, norm2;
    readonly VitAttention attn;
    readonly VitMlp mlp;
    public VitBlock(int dim, int heads, int mlpRatio) : base(nameof(VitBlock))
    {
        norm1 = LayerNorm(dim); attn = new VitAttention(dim, heads);
        norm2 = LayerNorm(dim); mlp = new VitMlp(dim, dim * mlpRatio);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x)
    {
        x = x + attn.forward(norm1.forward(x));
        return x + mlp.forward(norm2.forward(x));
    }
}

sealed class VitAttention : Module<Tensor, Tensor>
{
    readonly Linear qkv, proj;
    readonly int heads;
    public VitAttention(int dim, int heads) : base(nameof(VitAttention))
    {
        if (dim % heads != 0) throw new ArgumentException($"dim {dim} is not divisible by {heads} heads");
        this.heads = heads;
        qkv = Linear(dim, 3 * dim); proj = Linear(dim, dim);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], n = x.shape[1], d = x.shape[2];
        var qkvh = qkv.forward(x).view(b, n, 3, heads, d / heads).permute(2, 0, 3, 1, 4); // [3, B, h, N, d/h]
        var o = functional.scaled_dot_product_attention(qkvh[0], qkvh[1], qkvh[2]);   // bidirectional
        return proj.forward(o.transpose(1, 2).reshape(b, n, d));
    }
}

sealed class VitMlp : Module<Tensor, Tensor>
{
    readonly Linear fc1, fc2;
    public VitMlp(int dim, int hidden) : base(nameof(VitMlp))
    {
        fc1 = Linear(dim, hidden); fc2 = Linear(hidden, dim);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x) => fc2.forward(functional.gelu(fc1.forward(x)));
}
