using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Grouped-query self-attention with RoPE (Llama). NumKvHeads ≤ NumHeads: each key/value head serves
/// NumHeads / NumKvHeads query heads (Llama-3-8B: 32 query heads share 8 kv heads), which shrinks the
/// KV cache; NumKvHeads = NumHeads is plain multi-head attention.
public sealed class LlamaAttention : nn.Module
{
    // Typed as Module rather than Linear, and not readonly, so Training.Lora can put a LoRA adapter in a
    // projection's place (PEFT's setattr); plain Linear layers otherwise.
    private nn.Module<Tensor, Tensor> q_proj, k_proj, v_proj, o_proj;
    private readonly int heads, kvHeads, headDim;

    public LlamaAttention(LlamaConfig c) : base(nameof(LlamaAttention))
    {
        heads = c.NumHeads; kvHeads = c.NumKvHeads; headDim = c.HeadDim;
        q_proj = nn.Linear(c.HiddenSize, heads * headDim, hasBias: false);
        k_proj = nn.Linear(c.HiddenSize, kvHeads * headDim, hasBias: false);
        v_proj = nn.Linear(c.HiddenSize, kvHeads * headDim, hasBias: false);
        o_proj = nn.Linear(heads * headDim, c.HiddenSize, hasBias: false);
        RegisterComponents();
    }

    /// x [B, T, hidden]; cos/sin [B, T, headDim]; mask additive [B, 1, T, Tpast+T] (0 = attend, very
    /// negative = blocked). With a cache, this step's keys/values are appended and attention covers all.
    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor mask, LayerKvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = q_proj.forward(x).view(b, t, heads, headDim).transpose(1, 2);
        var k = k_proj.forward(x).view(b, t, kvHeads, headDim).transpose(1, 2);
        var v = v_proj.forward(x).view(b, t, kvHeads, headDim).transpose(1, 2);
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);
        if (cache is not null) (k, v) = cache.Append(k, v);
        k = RepeatKv(k, heads / kvHeads);
        v = RepeatKv(v, heads / kvHeads);
        // The mask carries causality and padding, so the kernel's causal flag stays off.
        var y = Attention.ScaledDotProduct(q, k, v, mask);
        y = y.transpose(1, 2).reshape(b, t, heads * headDim);
        return o_proj.forward(y).MoveToOuterDisposeScope();
    }

    /// [B, kvHeads, T, D] → [B, kvHeads·nRep, T, D], each kv head repeated for its group of query heads
    /// (same order as HF's repeat_kv).
    public static Tensor RepeatKv(Tensor kv, int nRep)
    {
        if (nRep == 1) return kv.alias();
        long b = kv.shape[0], h = kv.shape[1], t = kv.shape[2], d = kv.shape[3];
        return kv.unsqueeze(2).expand(b, h, nRep, t, d).reshape(b, h * nRep, t, d);
    }
}
