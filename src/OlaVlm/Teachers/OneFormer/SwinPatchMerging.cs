using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Teachers.OneFormer;

/// HF SwinPatchMerging: halves the resolution and doubles the width between stages. Each 2×2 neighbourhood's four
/// tokens are concatenated in HF's order (row 0 col 0, row 1 col 0, row 0 col 1, row 1 col 1), normed (LayerNorm of
/// 4C, default eps 1e-5) and projected to 2C without bias. An odd height or width is first zero-padded by one
/// row / column at the bottom / right, so a 23×20 map becomes 12×10.
public sealed class SwinPatchMerging : nn.Module
{
    private readonly Linear reduction;
    private readonly LayerNorm norm;

    public SwinPatchMerging(int dim, Device? device = null) : base(nameof(SwinPatchMerging))
    {
        reduction = nn.Linear(4 * dim, 2 * dim, hasBias: false, device: device);
        norm = nn.LayerNorm(4 * dim, eps: 1e-5, device: device);
        RegisterComponents();
    }

    /// x [B, height·width, C] → [B, ⌈height/2⌉·⌈width/2⌉, 2C].
    public Tensor forward(Tensor x, long height, long width)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], c = x.shape[2];
        var h = x.view(b, height, width, c);
        if (height % 2 == 1 || width % 2 == 1) h = nn.functional.pad(h, [0, 0, 0, width % 2, 0, height % 2]);
        long h2 = (height + 1) / 2, w2 = (width + 1) / 2;
        // [B, h2, 2 (row parity), w2, 2 (col parity), C] → order (col parity, row parity) so the concatenation runs
        // (0,0), (1,0), (0,1), (1,1) as HF's x0, x1, x2, x3.
        var merged = h.view(b, h2, 2, w2, 2, c).permute(0, 1, 3, 4, 2, 5).reshape(b, h2 * w2, 4 * c);
        return reduction.forward(norm.forward(merged)).MoveToOuterDisposeScope();
    }
}
