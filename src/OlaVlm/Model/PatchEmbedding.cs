using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// A ViT patch embedding (a P×P convolution with stride P) computed as a matrix product: such a kernel sees each
/// patch once, so the output is the patches flattened in (channel, row, column) order times the kernel viewed as
/// [width, C·P·P] — the same numbers, patches in the same row-major order as conv → flatten → transpose.
/// Why: libtorch's oneDNN convolutions are wrong on some CPUs in fp32 and bf16 alike (Core.OneDnn), while bf16
/// needs oneDNN's matmul to be fast (Core.Bf16Matmul); as a matmul a tower never meets the former.
/// The parameter stays the Conv2d's [width, C, P, P] weight, so checkpoints are unchanged.
public static class PatchEmbedding
{
    /// pixels [B, C, H, W], weight [width, C, P, P], bias [width] or null → tokens [B, (H/P)·(W/P), width].
    /// Like a convolution it drops the pixels past the last whole patch.
    public static Tensor AsMatmul(Tensor pixels, Tensor weight, Tensor? bias, string who)
    {
        if (pixels.dim() != 4 || pixels.shape[1] != weight.shape[1])
            throw new Core.ShapeMismatchException($"{who}: pixels {Core.Checked.Fmt(pixels.shape)} do not fit the patch embedding's {weight.shape[1]} input channels");
        long b = pixels.shape[0], c = pixels.shape[1], p = weight.shape[2], rows = pixels.shape[2] / p, cols = pixels.shape[3] / p;
        var x = pixels.narrow(2, 0, rows * p).narrow(3, 0, cols * p);
        var flat = x.reshape(b, c, rows, p, cols, p).permute(0, 2, 4, 1, 3, 5).reshape(b, rows * cols, c * p * p);
        return nn.functional.linear(flat, weight.view(weight.shape[0], -1), bias);
    }
}
