using static TorchSharp.torch;

namespace OlaVlm.Core;

/// Shape-checked tensor operations.
///
/// Why: in TorchSharp 0.107 `Tensor.matmul` does not catch libtorch's C++ error, so a shape mismatch
/// kills the whole process (in a notebook, the kernel dies). mm, bmm, einsum and linear throw a
/// catchable exception, matmul does not. Library code calls `Checked.MatMul` instead of `matmul`.
public static class Checked
{
    /// torch.matmul semantics (broadcast batch dims), but a bad shape throws ShapeMismatchException
    /// naming both shapes instead of aborting the process.
    public static Tensor MatMul(Tensor a, Tensor b, string? what = null)
    {
        var sa = a.shape; var sb = b.shape;
        if (sa.Length == 0 || sb.Length == 0)
            throw Mismatch(sa, sb, what, "matmul needs tensors with at least one dimension");
        long ka = sa[^1];
        long kb = sb.Length == 1 ? sb[0] : sb[^2];
        if (ka != kb)
            throw Mismatch(sa, sb, what, $"inner dimensions differ ({ka} vs {kb})");
        // Batch dimensions (all but the last two) must broadcast.
        var ba = sa.Length > 2 ? sa[..^2] : Array.Empty<long>();
        var bb = sb.Length > 2 ? sb[..^2] : Array.Empty<long>();
        for (int i = 1; i <= Math.Min(ba.Length, bb.Length); i++)
        {
            long x = ba[^i], y = bb[^i];
            if (x != y && x != 1 && y != 1)
                throw Mismatch(sa, sb, what, $"batch dimensions do not broadcast ({x} vs {y})");
        }
        if (a.dtype != b.dtype)
            throw Mismatch(sa, sb, what, $"dtypes differ ({a.dtype} vs {b.dtype})");
        if (a.device.ToString() != b.device.ToString())
            throw Mismatch(sa, sb, what, $"devices differ ({a.device} vs {b.device})");
        return a.matmul(b);
    }

    /// Throws a ShapeMismatchException unless `t` has exactly `expected` shape (-1 = any size).
    public static void Shape(Tensor t, long[] expected, string what)
    {
        var s = t.shape;
        bool ok = s.Length == expected.Length;
        for (int i = 0; ok && i < s.Length; i++) ok = expected[i] < 0 || expected[i] == s[i];
        if (!ok) throw new ShapeMismatchException($"{what}: expected shape {Fmt(expected)}, got {Fmt(s)}");
    }

    public static string Fmt(long[] shape) => "[" + string.Join(", ", shape.Select(d => d < 0 ? "*" : d.ToString())) + "]";

    static ShapeMismatchException Mismatch(long[] a, long[] b, string? what, string why) =>
        new($"{what ?? "matmul"}: cannot multiply {Fmt(a)} by {Fmt(b)}: {why}");
}

public sealed class ShapeMismatchException(string message) : ArgumentException(message);
