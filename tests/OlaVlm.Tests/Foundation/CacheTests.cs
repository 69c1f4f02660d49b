using OlaVlm.Foundation;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Foundation;

public class CacheTests
{
    static bool SameWeights(TorchSharp.torch.nn.Module a, TorchSharp.torch.nn.Module b)
    {
        var sa = a.state_dict(); var sb = b.state_dict();
        return sa.Count == sb.Count && sa.All(kv => sb.TryGetValue(kv.Key, out var t) && kv.Value.allclose(t, 0, 0));
    }

    [Fact]
    public void LoadOrTrain_reuses_the_cache_and_retrains_when_the_config_changes()
    {
        var world = FoundationFixture.World;
        var dir = FoundationFixture.TempDir("cache");
        var f = FoundationFixture.Tiny;
        var log = new List<string>();
        using var first = FoundationModels.LoadOrTrain(world, f, CPU, log.Add, dir);
        Assert.True(first.TrainedNow);
        Assert.NotEmpty(first.ClipCurve);
        Assert.NotEmpty(first.LlmCurve);

        using var second = FoundationModels.LoadOrTrain(world, f, CPU, log.Add, dir);
        Assert.False(second.TrainedNow);
        Assert.True(SameWeights(first.Clip, second.Clip));
        Assert.True(SameWeights(first.Llm, second.Llm));
        Assert.Equal(first.ClipReport.Scores.Select(s => s.Accuracy), second.ClipReport.Scores.Select(s => s.Accuracy));
        Assert.Equal(first.LlmReport.Perplexity, second.LlmReport.Perplexity);
        Assert.Equal(first.ClipCurve.Count, second.ClipCurve.Count);
        Assert.Equal(first.Tokenizer.Vocabulary, second.Tokenizer.Vocabulary);

        // The vision tower LLaVA uses: 64 patch tokens from the penultimate layer.
        using var tower = second.VisionTower(CPU);
        using var px = randn(2, 3, 64, 64);
        using var feats = tower.forward(px);
        Assert.Equal(new long[] { 2, 64, f.Vision.HiddenSize }, feats.shape);

        var changed = f with { LlmSteps = f.LlmSteps + 2 };
        Assert.NotEqual(FoundationModels.CacheDir(world, f), FoundationModels.CacheDir(world, changed));
        using var third = FoundationModels.LoadOrTrain(world, changed, CPU, log.Add, dir);
        Assert.True(third.TrainedNow);
        Assert.Contains(log, l => l.Contains("config changed"));
        Assert.Equal(changed.LlmSteps / changed.LogEvery, third.LlmCurve.Count);   // old curve rows were not kept
    }
}
