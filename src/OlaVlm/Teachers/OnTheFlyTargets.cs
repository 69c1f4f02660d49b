using OlaVlm.Core;
using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// Targets computed by running the teacher on every request: no disk, always current, slower.
/// `loadImages` maps image ids to an image batch [B, 3, H, W] in the same order.
public sealed class OnTheFlyTargets(ITeacher teacher, Func<IReadOnlyList<string>, Tensor> loadImages) : ITargetSource
{
    /// Images held in memory, id → [3, H, W].
    public OnTheFlyTargets(ITeacher teacher, IReadOnlyDictionary<string, Tensor> images)
        : this(teacher, ids => stack(ids.Select(id => images.TryGetValue(id, out var t) ? t
            : throw new KeyNotFoundException($"OnTheFlyTargets ({teacher.Name}): no image with id '{id}'")).ToArray(), 0)) { }

    public string TeacherName => teacher.Name;
    public string TeacherHash => teacher.WeightsHash;
    public long[] TargetShape => teacher.TargetShape;

    public Tensor Get(IReadOnlyList<string> imageIds, Device? device = null)
    {
        using var scope = NewDisposeScope();
        var images = loadImages(imageIds);
        Checked.Shape(images, [imageIds.Count, 3, -1, -1], $"OnTheFlyTargets ({teacher.Name}) images");
        // A teacher's convolutions must not take oneDNN's path, which a bf16 training step around us may have opened.
        var targets = Bf16Matmul.WithoutOneDnn(() => teacher.Encode(images));
        NonFiniteTargets.Ensure(targets, imageIds, teacher.Name, $"an on-the-fly batch of {imageIds.Count}", images);
        return targets.to(device ?? Devices.Default).MoveToOuterDisposeScope();
    }

    /// The teacher is owned by the caller.
    public void Dispose() { }
}
