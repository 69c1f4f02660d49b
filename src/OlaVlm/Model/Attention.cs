using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Scaled dot-product attention as every attention layer here calls it, with one CPU rule: bf16 inputs are
/// attended in fp32 and the output cast back.
/// Why (measured with libtorch 2.10 on the CPU, OlaCheck bf16 and Perf.Bf16Speed): its bf16 kernel's backward is
/// 3–8× slower than its fp32 kernel on the miniature's shapes (e.g. [16, 4, 112, 16], forward + backward: 35 ms
/// in bf16, 5 ms upcast), which alone made bf16 training steps slower than fp32 ones. Upcasting costs two cheap
/// conversions, computes the softmax in fp32 as Hugging Face's eager attention does, and gives bf16-rounded
/// outputs as accurate as the bf16 kernel's. CUDA keeps the native bf16 kernels (flash attention).
public static class Attention
{
    /// q [B, H, Tq, D], k and v [B, H, Tk, D]; mask additive [B or 1, 1, Tq, Tk] or null → [B, H, Tq, D].
    public static Tensor ScaledDotProduct(Tensor q, Tensor k, Tensor v, Tensor? mask)
    {
        if (q.dtype != ScalarType.BFloat16 || q.device.type != DeviceType.CPU)
            return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask?.to(q.dtype), is_casual: false);
        using var scope = NewDisposeScope();
        var f = ScalarType.Float32;
        var y = nn.functional.scaled_dot_product_attention(q.to(f), k.to(f), v.to(f), attn_mask: mask?.to(f), is_casual: false);
        return y.to(q.dtype).MoveToOuterDisposeScope();
    }
}
