using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Teachers.OneFormer;

/// Window bookkeeping of a Swin block (HF window_partition / window_reverse / SwinLayer.get_attn_mask).
public static class SwinWindows
{
    /// x [B, H, W, C] with H, W multiples of `window` → [B, nW, window², C], windows in row-major order.
    public static Tensor Partition(Tensor x, long window)
    {
        long b = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3];
        return x.view(b, h / window, window, w / window, window, c).permute(0, 1, 3, 2, 4, 5)
                .reshape(b, (h / window) * (w / window), window * window, c);
    }

    /// Inverse of Partition: [B, nW, window², C] → [B, H, W, C].
    public static Tensor Reverse(Tensor windows, long window, long height, long width)
    {
        long b = windows.shape[0], c = windows.shape[3];
        return windows.view(b, height / window, width / window, window, window, c).permute(0, 1, 3, 2, 4, 5)
                      .reshape(b, height, width, c);
    }

    /// The shifted-window attention mask for a padded map of height × width: [nW, window², window²], 0 where the
    /// two tokens came from the same region before the cyclic shift and −100 where not (HF's value, not −inf).
    /// Regions: rows [0, H−window), [H−window, H−shift), [H−shift, H), likewise columns, numbered row by row.
    public static Tensor ShiftMask(long height, long width, long window, long shift, Device device)
    {
        var region = new float[height * width];
        static int Band(long i, long size, long window, long shift) => i < size - window ? 0 : i < size - shift ? 1 : 2;
        for (long y = 0; y < height; y++)
            for (long x = 0; x < width; x++)
                region[y * width + x] = Band(y, height, window, shift) * 3 + Band(x, width, window, shift);
        using var scope = NewDisposeScope();
        var img = tensor(region, [1, height, width, 1], device: device);
        var windows = Partition(img, window).view(-1, window * window);      // [nW, N]
        var diff = windows.unsqueeze(1) - windows.unsqueeze(2);                // [nW, N, N]: HF's (i, j) = id[j] − id[i]
        return diff.ne(0).to(float32).mul(-100f).MoveToOuterDisposeScope();
    }
}
