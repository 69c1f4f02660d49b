using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// A teacher produced NaN or ±Inf for some images. Never stored, never trained on, never silently retried:
/// a retry that happens to come out finite would hide a fault (a miscomputing kernel, a broken checkpoint).
public sealed class NonFiniteTargetException(string message) : InvalidOperationException(message);

/// The check every teacher output passes before anyone uses it (target cache, on-the-fly targets).
public static class NonFiniteTargets
{
    /// Throws NonFiniteTargetException naming the teacher, `where` (batch / rows) and the affected image ids
    /// when `targets` [B, ...] holds a non-finite value; `images` (the teacher's input) says whether the
    /// input was already bad. `targets` may be a float16 copy: values beyond its range are caught too.
    public static void Ensure(Tensor targets, IReadOnlyList<string> imageIds, string teacher, string where, Tensor? images = null)
    {
        if (targets.isfinite().all().item<bool>()) return;
        using var scope = NewDisposeScope();
        var flat = targets.reshape(targets.shape[0], -1);
        var badRows = (~flat.isfinite()).any(1);
        var rows = Enumerable.Range(0, (int)targets.shape[0]).Where(i => badRows[i].item<bool>()).ToList();
        long nan = flat.isnan().sum().item<long>(), inf = flat.isinf().sum().item<long>();
        var ids = rows.Take(8).Select(i => i < imageIds.Count ? imageIds[i] : $"#{i}");
        string input = images is null ? "" : images.isfinite().all().item<bool>() ? " The input images were finite." : " The input images were already non-finite.";
        throw new NonFiniteTargetException(
            $"teacher {teacher} returned non-finite targets for {where}: {rows.Count} of {targets.shape[0]} images " +
            $"({nan} NaN and {inf} ±Inf of {flat.numel()} values); image ids: {string.Join(", ", ids)}{(rows.Count > 8 ? ", …" : "")}.{input} " +
            "Nothing was stored. On a CPU, check the setup line's oneDNN status (README, Troubleshooting).");
    }

    /// Index of the first row of `rows` (count × rowHalfs float16 values) holding a NaN or ±Inf, or −1.
    /// float16 is non-finite exactly when its five exponent bits are all ones.
    public static long FirstNonFiniteRow(ReadOnlySpan<ushort> halfs, long rowHalfs)
    {
        for (int i = 0; i < halfs.Length; i++)
            if ((halfs[i] & 0x7C00) == 0x7C00) return i / rowHalfs;
        return -1;
    }
}
