using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Additive attention masks: 0 where query i may attend key j (j ≤ i in cache coordinates and key j is a
/// real token), the dtype's most negative value elsewhere. A finite value (not −inf) keeps fully masked
/// rows — padding queries — at a harmless uniform softmax instead of NaN.
public static class CausalMask
{
    /// mask [B, Tk] (1 = token) → [B, 1, Tq, Tk] for the last Tq positions. With a sliding window W a query at
    /// position i also loses the keys before i − W (it sees W + 1 keys, itself included), as transformers'
    /// _make_causal_mask(sliding_window=W) builds it for Phi-3.
    public static Tensor Build(Tensor mask, long tq, ScalarType dtype, long? slidingWindow = null)
    {
        using var scope = NewDisposeScope();
        long tk = mask.shape[1];
        var qIdx = arange(tk - tq, tk, device: mask.device).unsqueeze(1);   // [Tq, 1]
        var kIdx = arange(0, tk, device: mask.device).unsqueeze(0);         // [1, Tk]
        var causal = kIdx.le(qIdx);                                          // [Tq, Tk]
        if (slidingWindow is long w) causal = causal & kIdx.ge(qIdx - w);
        var allowed = causal.unsqueeze(0) & mask.ne(0).unsqueeze(1);         // [B, Tq, Tk]
        var min = finfo(dtype).min;
        var add = zeros(allowed.shape, dtype: dtype, device: mask.device).masked_fill(allowed.logical_not(), min);
        return add.unsqueeze(1).MoveToOuterDisposeScope();
    }
}
