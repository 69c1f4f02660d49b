using System.Security.Cryptography;
using OlaVlm.Core;
using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// Labelled images for training / evaluating a mini teacher (CPU tensors; batches move to the device).
/// Images [N, 3, H, W] float (normalised), Depth [N, H, W] float (exact, > 0 where valid),
/// Seg [N, H, W] int64 class ids. A kind's teacher needs only its own label; the others may be null.
public sealed class TeacherData
{
    public Tensor Images { get; }
    public Tensor? Depth { get; }
    public Tensor? Seg { get; }
    public long Count => Images.shape[0];

    public TeacherData(Tensor images, Tensor? depth = null, Tensor? seg = null)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ShapeMismatchException($"TeacherData images: expected [N, 3, H, W], got {Checked.Fmt(images.shape)}");
        long n = images.shape[0], h = images.shape[2], w = images.shape[3];
        if (depth is not null) Checked.Shape(depth, [n, h, w], "TeacherData depth");
        if (seg is not null)
        {
            Checked.Shape(seg, [n, h, w], "TeacherData seg");
            if (seg.dtype != ScalarType.Int64) throw new ArgumentException($"TeacherData seg: expected int64 class ids, got {seg.dtype}");
        }
        Images = images.to(float32).cpu(); Depth = depth?.to(float32).cpu(); Seg = seg?.cpu();
    }

    /// Rows `index` (int64 [B]) of every present tensor, moved to `device`.
    public TeacherBatch Batch(Tensor index, Device device) => new(
        Images.index_select(0, index).to(device),
        Depth?.index_select(0, index).to(device),
        Seg?.index_select(0, index).to(device));

    /// Rows [start, start+length).
    public TeacherBatch Slice(long start, long length, Device device) => new(
        Images.narrow(0, start, length).to(device),
        Depth?.narrow(0, start, length).to(device),
        Seg?.narrow(0, start, length).to(device));

    /// (train, val): the first `Count - valCount` rows and the last `valCount` rows.
    public (TeacherData Train, TeacherData Val) Split(long valCount)
    {
        if (valCount <= 0 || valCount >= Count) throw new ArgumentOutOfRangeException(nameof(valCount), valCount, $"need 0 < val < {Count}");
        long t = Count - valCount;
        return (new(Images.narrow(0, 0, t), Depth?.narrow(0, 0, t), Seg?.narrow(0, 0, t)),
                new(Images.narrow(0, t, valCount), Depth?.narrow(0, t, valCount), Seg?.narrow(0, t, valCount)));
    }

    /// SHA-256 (hex) over shapes and bytes of all tensors: keys a trained checkpoint to its data.
    public string ContentHash => _hash ??= ComputeHash();
    string? _hash;

    string ComputeHash()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, t) in new[] { ("images", Images), ("depth", Depth), ("seg", Seg) })
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{name}:{(t is null ? "none" : Checked.Fmt(t.shape) + t.dtype)};"));
            if (t is not null) { using var c = t.contiguous(); sha.AppendData(c.bytes); }
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }
}

/// One batch on the training device.
public sealed record TeacherBatch(Tensor Images, Tensor? Depth, Tensor? Seg)
{
    public Tensor NeedDepth(string who) => Depth ?? throw new ArgumentException($"{who} needs depth labels but the batch has none");
    public Tensor NeedSeg(string who) => Seg ?? throw new ArgumentException($"{who} needs segmentation labels but the batch has none");
}
