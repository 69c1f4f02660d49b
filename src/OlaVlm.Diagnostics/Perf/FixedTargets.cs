using OlaVlm.Teachers;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// Teacher targets of a fixed set of images, computed once and served by image key, so a benchmark's
/// repeated step reads targets the way a cached stage does (a lookup, no teacher run) on both sides.
public sealed class FixedTargets : ITargetSource
{
    readonly Dictionary<string, Tensor> _rows;

    public string TeacherName { get; }
    public string TeacherHash { get; }
    public long[] TargetShape { get; }

    FixedTargets(ITargetSource source, Dictionary<string, Tensor> rows) =>
        (TeacherName, TeacherHash, TargetShape, _rows) = (source.TeacherName, source.TeacherHash, source.TargetShape, rows);

    /// Runs `source` once over the distinct `keys`.
    public static FixedTargets Compute(ITargetSource source, IEnumerable<string> keys, Device device)
    {
        var distinct = keys.Distinct().ToList();
        using var all = source.Get(distinct, device);
        return new FixedTargets(source, distinct.Select((k, i) => (k, all[i].clone())).ToDictionary(x => x.k, x => x.Item2));
    }

    public Tensor Get(IReadOnlyList<string> imageIds, Device? device = null) =>
        stack(imageIds.Select(id => _rows.TryGetValue(id, out var t) ? t
            : throw new KeyNotFoundException($"FixedTargets ({TeacherName}): no target for image '{id}' ({_rows.Count} images)")).ToArray(), 0)
        .to(device ?? Core.Devices.Default);

    public void Dispose() { foreach (var t in _rows.Values) t.Dispose(); }
}
