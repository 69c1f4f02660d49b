using OlaVlm.Teachers;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers;

/// PT's target cache answers first; IFT's is opened only when an id outside PT's is asked for (the embedding loss in
/// IFT, an ablation the paper's sweep runs), and a batch mixing both keeps its order.
public sealed class SplitTargetsTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "ola-split-targets-" + Guid.NewGuid().ToString("N"));
    static readonly Tensor Images = SyntheticScenes.Generate(10, size: 32, numClasses: 4, seed: 2).Images;

    public void Dispose() { if (Directory.Exists(dir)) Directory.Delete(dir, true); }

    static IEnumerable<(string, Tensor)> Part(int from, int to) => Enumerable.Range(from, to - from).Select(i => ($"img{i}", Images[i]));

    // The same teacher's rows, encoded in other batches and stored at fp16.
    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && allclose(a, b, rtol: 1e-3, atol: 1e-3);

    [Fact]
    public void PtAnswersFirst_IftOpensOnlyWhenAskedFor_AndAMixedBatchKeepsItsOrder()
    {
        using var t = new DepthTeacher(DepthTeacherConfig.Tiny, CPU);
        using var whole = TargetCache.Build(t, SyntheticScenes.WithIds(Images), Path.Combine(dir, "whole"), "all");
        int opened = 0;
        using var split = new SplitTargets(TargetCache.Build(t, Part(0, 6), dir, "pt"),
                                           () => { opened++; return TargetCache.Build(t, Part(6, 10), dir, "ift"); });
        using (var pt = split.Get(["img5", "img0"], CPU)) Assert.True(Same(pt, whole.Get(["img5", "img0"], CPU)));
        Assert.Equal(0, opened);
        Assert.False(split.SecondOpened);
        string[] mixed = ["img7", "img1", "img9", "img1"];
        using (var got = split.Get(mixed, CPU)) Assert.True(Same(got, whole.Get(mixed, CPU)));
        using (var ift = split.Get(["img8"], CPU)) Assert.True(Same(ift, whole.Get(["img8"], CPU)));
        Assert.Equal(1, opened);
        var e = Assert.Throws<KeyNotFoundException>(() => split.Get(["img3", "nope42"], CPU));
        Assert.Contains("nope42", e.Message);
        Assert.Contains(TargetCache.IndexFile(dir, t.Name, "ift"), e.Message);
    }

    [Fact]
    public void ASecondSourceOfAnotherTeacherIsRefusedNamingBoth()
    {
        using var a = new DepthTeacher(DepthTeacherConfig.Tiny with { Seed = 0 }, CPU);
        using var b = new DepthTeacher(DepthTeacherConfig.Tiny with { Seed = 1 }, CPU);
        using var split = new SplitTargets(TargetCache.Build(a, Part(0, 6), dir, "pt"), () => TargetCache.Build(b, Part(6, 10), dir, "ift"));
        var e = Assert.Throws<InvalidOperationException>(() => split.Get(["img7"], CPU));
        Assert.Contains(a.WeightsHash, e.Message);
        Assert.Contains(b.WeightsHash, e.Message);
    }
}
