using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace OlaVlm.Teachers.DepthAnything;

/// DINOv2 transformer block (dinov2_layers/block.py, eval path): x + ls1(attn(norm1(x))); x + ls2(mlp(norm2(x))).
/// Names as the checkpoint spells them: norm1, attn.qkv, attn.proj, ls1.gamma, norm2, mlp.fc1/fc2 (or mlp.w12/w3), ls2.gamma.
public sealed class Dinov2Block : Module<Tensor, Tensor>
{
    readonly LayerNorm norm1, norm2;
    readonly Dinov2Attention attn;
    readonly LayerScale ls1, ls2;
    readonly Module<Tensor, Tensor> mlp;

    public Dinov2Block(Dinov2Config c) : base(nameof(Dinov2Block))
    {
        norm1 = LayerNorm(c.EmbedDim, c.LayerNormEps);
        attn = new Dinov2Attention(c.EmbedDim, c.NumHeads);
        ls1 = new LayerScale(c.EmbedDim);
        norm2 = LayerNorm(c.EmbedDim, c.LayerNormEps);
        mlp = c.FfnLayer == "mlp" ? new Dinov2Mlp(c.EmbedDim, c.FfnHidden) : new SwiGluFfn(c.EmbedDim, c.FfnHidden);
        ls2 = new LayerScale(c.EmbedDim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = x + ls1.forward(attn.forward(norm1.forward(x)));
        return (x + ls2.forward(mlp.forward(norm2.forward(x)))).MoveToOuterDisposeScope();
    }
}

/// Multi-head self-attention with one fused qkv projection (biases on, as DINOv2 builds it: qkv_bias=True).
sealed class Dinov2Attention : Module<Tensor, Tensor>
{
    readonly Linear qkv, proj;
    readonly int heads;

    public Dinov2Attention(int dim, int heads) : base(nameof(Dinov2Attention))
    {
        this.heads = heads;
        qkv = Linear(dim, 3 * dim); proj = Linear(dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], d = x.shape[2];
        var h = qkv.forward(x).view(b, n, 3, heads, d / heads).permute(2, 0, 3, 1, 4);   // [3, B, heads, N, d/heads]
        var o = Model.Attention.ScaledDotProduct(h[0], h[1], h[2], null);                // softmax(q·kᵀ/√d)·v
        return proj.forward(o.transpose(1, 2).reshape(b, n, d)).MoveToOuterDisposeScope();
    }
}

/// Per-channel residual scale (LayerScale.gamma).
sealed class LayerScale : Module<Tensor, Tensor>
{
    readonly Parameter gamma;
    public LayerScale(int dim) : base(nameof(LayerScale))
    {
        gamma = new Parameter(ones(dim));
        RegisterComponents();
    }
    public override Tensor forward(Tensor x) => x * gamma;
}

/// fc1 → exact GELU (nn.GELU) → fc2.
sealed class Dinov2Mlp : Module<Tensor, Tensor>
{
    readonly Linear fc1, fc2;
    public Dinov2Mlp(int dim, int hidden) : base(nameof(Dinov2Mlp))
    {
        fc1 = Linear(dim, hidden); fc2 = Linear(hidden, dim);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return fc2.forward(functional.gelu(fc1.forward(x))).MoveToOuterDisposeScope();
    }
}

/// ViT-g's FFN (SwiGLUFFN): w12 → halves x1, x2 → silu(x1)·x2 → w3.
sealed class SwiGluFfn : Module<Tensor, Tensor>
{
    readonly Linear w12, w3;
    public SwiGluFfn(int dim, int hidden) : base(nameof(SwiGluFfn))
    {
        w12 = Linear(dim, 2 * hidden); w3 = Linear(hidden, dim);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var halves = w12.forward(x).chunk(2, -1);
        return w3.forward(functional.silu(halves[0]) * halves[1]).MoveToOuterDisposeScope();
    }
}
