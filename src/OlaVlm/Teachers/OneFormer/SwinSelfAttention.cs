using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Teachers.OneFormer;

/// HF SwinSelfAttention: multi-head attention inside each window, plus a learned relative position bias.
/// The bias table holds one value per head for each of the (2w−1)² relative offsets (Δrow, Δcol) of two tokens
/// in a w×w window; `relative_position_index` [w², w²] picks the entry for each token pair (a constant that HF
/// keeps as a persistent buffer, so checkpoints carry it).
public sealed class SwinSelfAttention : nn.Module
{
    private readonly Linear query, key, value;
    private readonly Parameter relative_position_bias_table;
    private readonly Tensor relative_position_index;
    public int Heads { get; }
    public int Window { get; }

    public SwinSelfAttention(SwinConfig c, int dim, int heads, Device? device = null) : base(nameof(SwinSelfAttention))
    {
        Heads = heads;
        Window = c.WindowSize;
        query = nn.Linear(dim, dim, hasBias: c.QkvBias, device: device);
        key = nn.Linear(dim, dim, hasBias: c.QkvBias, device: device);
        value = nn.Linear(dim, dim, hasBias: c.QkvBias, device: device);
        relative_position_bias_table = new Parameter(zeros((2 * Window - 1) * (2 * Window - 1), heads, device: device));
        relative_position_index = RelativePositionIndex(Window).to(device ?? CPU);
        register_buffer(nameof(relative_position_index), relative_position_index);
        RegisterComponents();
    }

    /// index[i, j] = (Δrow + w − 1)·(2w − 1) + (Δcol + w − 1) for tokens i, j (row-major in the window),
    /// Δ = position of i − position of j; int64 [w², w²].
    public static Tensor RelativePositionIndex(int w)
    {
        var index = new long[w * w * w * w];
        for (int i = 0; i < w * w; i++)
            for (int j = 0; j < w * w; j++)
                index[i * w * w + j] = (i / w - j / w + w - 1) * (2 * w - 1) + (i % w - j % w + w - 1);
        return tensor(index, [w * w, w * w], int64);
    }

    /// windows [B, nW, N = w², C]; shiftMask [nW, N, N] additive or null → [B, nW, N, C].
    public Tensor forward(Tensor windows, Tensor? shiftMask)
    {
        using var scope = NewDisposeScope();
        long b = windows.shape[0], nW = windows.shape[1], n = windows.shape[2], c = windows.shape[3], d = c / Heads;
        if (n != (long)Window * Window)
            throw new Core.ShapeMismatchException($"SwinSelfAttention: windows of {n} tokens, the relative position bias is for {Window}×{Window}");
        var bias = relative_position_bias_table.index_select(0, relative_position_index.view(-1))
                                                .view(n, n, Heads).permute(2, 0, 1);          // [heads, N, N]
        // Heads of all windows of an image side by side, [B, nW·heads, N, d], so one broadcast mask [1, nW·heads, N, N]
        // carries bias + shift mask for the whole batch (with no shift, windows go to the batch axis and the mask is
        // the bias alone, [1, heads, N, N]).
        Tensor Split(Tensor y) => shiftMask is null
            ? y.view(b * nW, n, Heads, d).transpose(1, 2)
            : y.view(b, nW, n, Heads, d).permute(0, 1, 3, 2, 4).reshape(b, nW * Heads, n, d);
        var mask = shiftMask is null ? bias.unsqueeze(0)
            : (bias.unsqueeze(0) + shiftMask.unsqueeze(1)).reshape(1, nW * Heads, n, n);
        var y = Model.Attention.ScaledDotProduct(Split(query.forward(windows)), Split(key.forward(windows)),
                                                 Split(value.forward(windows)), mask.to(windows.dtype));
        var merged = shiftMask is null
            ? y.transpose(1, 2).reshape(b, nW, n, c)
            : y.view(b, nW, Heads, n, d).permute(0, 1, 3, 2, 4).reshape(b, nW, n, c);
        return merged.MoveToOuterDisposeScope();
    }
}

/// A module that is one Linear named `dense` (HF SwinSelfOutput, SwinIntermediate, SwinOutput); the GELU of
/// SwinIntermediate is applied by the caller.
public sealed class SwinDense : nn.Module<Tensor, Tensor>
{
    private readonly Linear dense;

    public SwinDense(int inFeatures, int outFeatures, Device? device = null) : base(nameof(SwinDense))
    {
        dense = nn.Linear(inFeatures, outFeatures, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => dense.forward(x);
}

/// HF SwinAttention: `self` (window attention) then `output.dense` (the projection back).
public sealed class SwinAttention : nn.Module
{
    private readonly SwinSelfAttention @self;
    private readonly SwinDense output;

    public SwinAttention(SwinConfig c, int dim, int heads, Device? device = null) : base(nameof(SwinAttention))
    {
        @self = new SwinSelfAttention(c, dim, heads, device);
        output = new SwinDense(dim, dim, device);
        RegisterComponents();
    }

    public Tensor forward(Tensor windows, Tensor? shiftMask)
    {
        using var y = @self.forward(windows, shiftMask);
        return output.forward(y);
    }
}
