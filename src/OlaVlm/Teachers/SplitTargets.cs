using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// One teacher's targets over two image sets: PT's cache answers the ids it holds, and a second source (IFT's images)
/// is opened the first time an id outside PT's is asked for. Only the embedding loss in IFT asks (the paper's PT+IFT
/// ablation, OlaConfig.EmbeddingLossInFinetune), so the main job's recipe never builds it. An id neither holds is the
/// second source's error, which names its file and the id.
public sealed class SplitTargets : ITargetSource
{
    readonly TargetCache _first;
    readonly Func<ITargetSource> _openSecond;
    ITargetSource? _second;

    public SplitTargets(TargetCache first, Func<ITargetSource> openSecond) => (_first, _openSecond) = (first, openSecond);

    public string TeacherName => _first.TeacherName;
    public string TeacherHash => _first.TeacherHash;
    public long[] TargetShape => _first.TargetShape;
    /// Whether the second source has been opened (built, if it was not cached yet).
    public bool SecondOpened => _second is not null;

    public Tensor Get(IReadOnlyList<string> imageIds, Device? device = null)
    {
        var inFirst = imageIds.Select(_first.Contains).ToArray();
        if (inFirst.All(b => b)) return _first.Get(imageIds, device);
        var second = Second();
        if (!inFirst.Any(b => b)) return second.Get(imageIds, device);
        // A batch mixing both sets: each source's rows, put back in the order asked.
        using var scope = NewDisposeScope();
        var (a, b) = (Enumerable.Range(0, imageIds.Count).Where(i => inFirst[i]).ToList(), Enumerable.Range(0, imageIds.Count).Where(i => !inFirst[i]).ToList());
        var fromA = _first.Get(a.Select(i => imageIds[i]).ToList(), device);
        var fromB = second.Get(b.Select(i => imageIds[i]).ToList(), device);
        var all = zeros(imageIds.Count, TargetShape[0], TargetShape[1], device: fromA.device);
        all.index_copy_(0, tensor(a.Select(i => (long)i).ToArray(), device: fromA.device), fromA);
        all.index_copy_(0, tensor(b.Select(i => (long)i).ToArray(), device: fromA.device), fromB);
        return all.MoveToOuterDisposeScope();
    }

    ITargetSource Second()
    {
        if (_second is not null) return _second;
        var s = _openSecond();
        if (s.TeacherHash != TeacherHash || !s.TargetShape.SequenceEqual(TargetShape))
        {
            var why = $"SplitTargets: the second target source is {s.TeacherName} ({s.TeacherHash}, " +
                      $"[{string.Join(", ", s.TargetShape)}]), not {TeacherName} ({TeacherHash}, [{string.Join(", ", TargetShape)}])";
            s.Dispose();   // refused, so nothing else will close it
            throw new InvalidOperationException(why);
        }
        return _second = s;
    }

    public void Dispose()
    {
        _first.Dispose();
        _second?.Dispose();
    }
}
