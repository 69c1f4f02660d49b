using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Teachers.OneFormer;

/// HF SwinLayer, one Swin block: x + W-MSA(LN(x)), then + MLP(LN(·)). Blocks alternate between plain windows
/// (even index) and windows shifted by ⌊window/2⌋ (odd index), which lets information cross window borders.
///
/// Sizes that are not multiples of the window: the normed map is zero-padded on the bottom / right up to one
/// (HF maybe_pad), attention runs on the padded map, and the padding is cropped off before the residual.
/// Small maps (transformers 4.41, the version OLA-VLM pins: set_shift_and_window_size on every forward): when the
/// map's shorter side is ≤ the window, the whole map is one window and nothing is shifted; shorter than the window
/// cannot run there (the relative position bias is sized for the full window) and is refused here.
public sealed class SwinLayer : nn.Module
{
    private readonly LayerNorm layernorm_before, layernorm_after;
    private readonly SwinAttention attention;
    private readonly SwinDense intermediate, output;
    public int Window { get; }
    public int Shift { get; }

    public SwinLayer(SwinConfig c, int dim, int heads, int shift, Device? device = null) : base(nameof(SwinLayer))
    {
        Window = c.WindowSize;
        Shift = shift;
        layernorm_before = nn.LayerNorm(dim, eps: c.LayerNormEps, device: device);
        attention = new SwinAttention(c, dim, heads, device);
        layernorm_after = nn.LayerNorm(dim, eps: c.LayerNormEps, device: device);
        intermediate = new SwinDense(dim, c.MlpHidden(dim), device);
        output = new SwinDense(c.MlpHidden(dim), dim, device);
        RegisterComponents();
    }

    /// The shift this block applies to a height × width map (0 when its shorter side is ≤ the window).
    public int ShiftFor(long height, long width)
    {
        long side = Math.Min(height, width);
        if (side < Window)
            throw new ArgumentException($"SwinLayer: a {height}×{width} map is smaller than the {Window}×{Window} window; the reference " +
                                        "(transformers 4.41 SwinLayer) cannot run it either (its relative position bias is sized for the full window). Use a larger image.");
        return side == Window ? 0 : Shift;
    }

    /// x [B, height·width, C] (row-major tokens) → same shape.
    public Tensor forward(Tensor x, long height, long width)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], c = x.shape[2];
        if (x.shape[1] != height * width)
            throw new Core.ShapeMismatchException($"SwinLayer: {x.shape[1]} tokens for a {height}×{width} map");
        int shift = ShiftFor(height, width);
        var h = layernorm_before.forward(x).view(b, height, width, c);
        long padH = (Window - height % Window) % Window, padW = (Window - width % Window) % Window;
        if (padH > 0 || padW > 0) h = nn.functional.pad(h, [0, 0, 0, padW, 0, padH]);
        long hp = height + padH, wp = width + padW;
        if (shift > 0) h = h.roll([-shift, -shift], [1, 2]);
        var mask = shift > 0 ? SwinWindows.ShiftMask(hp, wp, Window, shift, x.device) : null;
        var attended = SwinWindows.Reverse(attention.forward(SwinWindows.Partition(h, Window), mask), Window, hp, wp);
        if (shift > 0) attended = attended.roll([shift, shift], [1, 2]);
        if (padH > 0 || padW > 0) attended = attended.narrow(1, 0, height).narrow(2, 0, width);
        var y = x + attended.reshape(b, height * width, c);
        var mlp = output.forward(nn.functional.gelu(intermediate.forward(layernorm_after.forward(y))));
        return (y + mlp).MoveToOuterDisposeScope();
    }
}
