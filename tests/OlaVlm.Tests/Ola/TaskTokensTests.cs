using OlaVlm.Ola;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Ola;

public class TaskTokensTests
{
    [Fact]
    public void DepthAndSegArePooledInConsecutiveGroups_GenIsUsedAsIs()
    {
        var cfg = OlaTestData.Config(n: 2) with { Tasks = [OlaTask.Seg, OlaTask.Gen, OlaTask.Depth] };
        using var tt = new TaskTokens(cfg, hidden: 3, device: CPU);
        Assert.Equal(new long[] { 4, 3 }, tt.Query(OlaTask.Depth).shape);
        Assert.Equal(new long[] { 2, 3 }, tt.Query(OlaTask.Gen).shape);
        using (no_grad())
            tt.Query(OlaTask.Depth).copy_(tensor(new float[] { 1, 2, 3, 5, 6, 7, 10, 20, 30, 0, 0, 0 }).view(4, 3));
        // 4 query rows, N = 2: rows {0,1} and {2,3} are averaged.
        var depth = tt.SequenceTokens(OlaTask.Depth);
        Assert.Equal(new[] { 3f, 4f, 5f, 5f, 10f, 15f }, depth.data<float>().ToArray());

        Assert.Equal(6, tt.BlockLength);
        Assert.Equal(0, tt.Offset(OlaTask.Seg));
        Assert.Equal(2, tt.Offset(OlaTask.Gen));
        Assert.Equal(4, tt.Offset(OlaTask.Depth));
        var seq = tt.Sequence();
        Assert.Equal(new long[] { 6, 3 }, seq.shape);
        Assert.True(seq[2..4].allclose(tt.Query(OlaTask.Gen), rtol: 0, atol: 0));
        Assert.True(seq[4..6].allclose(depth, rtol: 0, atol: 0));
        Assert.True(seq[0..2].allclose(tt.SequenceTokens(OlaTask.Seg), rtol: 0, atol: 0));
        Assert.Contains(tt.named_parameters(), p => p.name == "special_depth_tokens");
    }

    [Fact]
    public void ZeroTokensGiveAnEmptyBlockButKeepQueries()
    {
        using var tt = new TaskTokens(OlaTestData.Config(n: 0), hidden: 5, device: CPU);
        Assert.Equal(new long[] { 0, 5 }, tt.Sequence().shape);
        Assert.Equal(new long[] { 1, 5 }, tt.Query(OlaTask.Gen).shape);
        Assert.Equal(new long[] { 4, 5 }, tt.Query(OlaTask.Seg).shape);
    }

    [Fact]
    public void IndivisibleTargetsAreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => new TaskTokens(OlaTestData.Config(n: 3), 4, CPU));
        Assert.Contains("not divisible", e.Message);
    }
}
