using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// Where a training loop gets teacher targets for a batch of image ids: from the on-disk cache
/// (TargetCache) or by running the teacher (OnTheFlyTargets). Same answer either way, up to fp16.
public interface ITargetSource : IDisposable
{
    string TeacherName { get; }
    /// The teacher's WeightsHash the targets belong to.
    string TeacherHash { get; }
    /// [tokens, dim].
    long[] TargetShape { get; }
    /// Targets [B, tokens, dim] float32 on `device` (default: the library default), rows in `imageIds` order.
    Tensor Get(IReadOnlyList<string> imageIds, Device? device = null);
}
