using OlaVlm.Model;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Model;

public class GenerationTests
{
    [Fact]
    public void CachedGreedyEqualsUncachedGreedy_AndMatchesArgmaxOfFullForward()
    {
        using var scope = NewDisposeScope();
        var lm = Tiny.Lm();
        var ids = Tiny.Ids(11, 2, 5);
        var cached = Generation.Generate(lm, ids, null, null, new GenerationOptions(MaxNewTokens: 6));
        var plain = Generation.Generate(lm, ids, null, null, new GenerationOptions(MaxNewTokens: 6, UseCache: false));
        Assert.Equal(cached, plain);
        // First generated token = argmax of the prompt's last logits.
        using var _ = no_grad();
        var first = lm.forward(ids).Logits[.., -1, ..].argmax(-1);
        Assert.Equal(first[0].item<long>(), cached[0][0]);
        Assert.Equal(first[1].item<long>(), cached[1][0]);
        Assert.All(cached, row => Assert.Equal(6, row.Length));
    }

    [Fact]
    public void StopsAtStopTokenPerRow()
    {
        using var scope = NewDisposeScope();
        var lm = Tiny.Lm();
        var ids = Tiny.Ids(12, 1, 4);
        var free = Generation.Generate(lm, ids, null, null, new GenerationOptions(MaxNewTokens: 5));
        var stop = free[0][2];
        int firstStop = Array.IndexOf(free[0], stop);
        var stopped = Generation.Generate(lm, ids, null, null, new GenerationOptions(MaxNewTokens: 5, StopTokenId: stop));
        Assert.Equal(free[0][..firstStop], stopped[0]);
    }

    [Fact]
    public void LeftPaddedBatchGeneratesLikeSinglePrompts()
    {
        using var scope = NewDisposeScope();
        var lm = Tiny.Lm();
        var a = Tiny.Ids(13, 1, 3); var b = Tiny.Ids(14, 1, 6);
        var o = new GenerationOptions(MaxNewTokens: 4);
        var ids = cat([cat([zeros(1, 3, dtype: ScalarType.Int64), a], 1), b], 0);
        var mask = cat([cat([zeros(1, 3), ones(1, 3)], 1), ones(1, 6)], 0).to(ScalarType.Int64);
        var batch = Generation.Generate(lm, ids, null, mask, o);
        Assert.Equal(Generation.Generate(lm, a, null, null, o)[0], batch[0]);
        Assert.Equal(Generation.Generate(lm, b, null, null, o)[0], batch[1]);
        var right = cat([cat([a, zeros(1, 3, dtype: ScalarType.Int64)], 1), b], 0);
        var rmask = cat([cat([ones(1, 3), zeros(1, 3)], 1), ones(1, 6)], 0);
        Assert.Throws<ArgumentException>(() => Generation.Generate(lm, right, null, rmask, o));
    }

    [Fact]
    public void SamplingIsSeededAndTinyTopPIsGreedy()
    {
        using var scope = NewDisposeScope();
        var logits = randn(3, 40);
        var hot = new GenerationOptions(Temperature: 1.0, TopP: 0.9);
        using var g1 = new Generator(7); using var g2 = new Generator(7);
        var s1 = Sampler.Next(logits, hot, g1); var s2 = Sampler.Next(logits, hot, g2);
        Assert.True(s1.eq(s2).all().item<bool>());
        using var g3 = new Generator(8);
        var nucleus = Sampler.Next(logits, hot with { TopP = 1e-6 }, g3);
        Assert.True(nucleus.eq(logits.argmax(-1)).all().item<bool>());
    }
}
