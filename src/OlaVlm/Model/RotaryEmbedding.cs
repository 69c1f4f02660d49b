using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Rotary position embedding (RoPE) in Hugging Face's "rotate_half" layout: the head dimension is split
/// into two halves (not interleaved pairs), which is how HF Llama checkpoints expect q_proj/k_proj rows.
/// Why it works: rotating q at position m and k at position n makes q·k depend only on m − n.
public static class RotaryEmbedding
{
    /// cos and sin tables for the given positions: [B, T] position ids → two [B, T, headDim] tensors.
    public static (Tensor Cos, Tensor Sin) Tables(Tensor positionIds, int headDim, double theta, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var exponents = arange(0, headDim, 2, dtype: ScalarType.Float32, device: positionIds.device) / headDim;
        var invFreq = pow(theta, exponents).reciprocal();                       // [headDim/2]
        var freqs = einsum("bt,f->btf", positionIds.to(ScalarType.Float32), invFreq);
        var emb = cat([freqs, freqs], -1);                                      // [B, T, headDim]
        return (emb.cos().to(dtype).MoveToOuterDisposeScope(), emb.sin().to(dtype).MoveToOuterDisposeScope());
    }

    /// (−x2, x1) for x = (x1, x2) split in halves along the last dimension.
    public static Tensor RotateHalf(Tensor x)
    {
        var half = x.shape[^1] / 2;
        using var x1 = x[.., .., .., ..(int)half];
        using var x2 = x[.., .., .., (int)half..];
        using var neg = -x2;
        return cat([neg, x1], -1);
    }

    /// Applies RoPE to q or k shaped [B, heads, T, headDim], with cos/sin shaped [B, T, headDim].
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var c = cos.unsqueeze(1);
        var s = sin.unsqueeze(1);
        return (x * c + RotateHalf(x) * s).MoveToOuterDisposeScope();
    }
}
