using OlaVlm.Foundation;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Foundation;

// Retrains models and compares them with earlier ones, replaying torch's global generator: alone (SerialCollection),
// or a neighbour class drawing from the same generator mid-run changes the numbers (seen beside PatchSupervisionTests).
[Collection(SerialCollection.Name)]
public class CacheTests
{
    static bool SameWeights(TorchSharp.torch.nn.Module a, TorchSharp.torch.nn.Module b)
    {
        var sa = a.state_dict(); var sb = b.state_dict();
        return sa.Count == sb.Count && sa.All(kv => sb.TryGetValue(kv.Key, out var t) && kv.Value.allclose(t, 0, 0));
    }

    [Fact]
    public void LlmFrom_takes_the_llm_over_only_when_the_clip_alone_differs()
    {
        var world = FoundationFixture.World;
        var f = FoundationFixture.Tiny;
        var clipOnly = f with { ClipSteps = f.ClipSteps + 3, ClipHardNegatives = 0 };
        var a = FoundationFixture.TempDir("llmfrom-a");
        using var source = FoundationModels.LoadOrTrain(world, f, CPU, dir: a);

        // The premise: the LLM never sees the CLIP, so training the CLIP-only variant from scratch gives the same LLM.
        using var scratch = FoundationModels.LoadOrTrain(world, clipOnly, CPU, dir: FoundationFixture.TempDir("llmfrom-scratch"));
        Assert.True(SameWeights(source.Llm, scratch.Llm));
        Assert.False(SameWeights(source.Clip, scratch.Clip));

        var log = new List<string>();
        var b = FoundationFixture.TempDir("llmfrom-b");
        using var taken = FoundationModels.LoadOrTrain(world, clipOnly, CPU, log.Add, dir: b, llmFrom: a);
        Assert.Contains(log, l => l.Contains("taken over from"));
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "llm", "model.safetensors")), File.ReadAllBytes(Path.Combine(b, "llm", "model.safetensors")));
        Assert.True(SameWeights(scratch.Clip, taken.Clip));
        Assert.Equal(source.Oracle?.Accuracy, taken.Oracle?.Accuracy);
        var meta = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(b, "foundation.json")))!;
        Assert.Equal(FoundationModels.Version, meta["llmFrom"]!["version"]!.GetValue<string>());

        // Any LLM knob differing is refused, naming why.
        var ex = Assert.Throws<InvalidDataException>(() => FoundationModels.LoadOrTrain(world, f with { LlmSteps = f.LlmSteps + 1 }, CPU,
            dir: FoundationFixture.TempDir("llmfrom-c"), llmFrom: a));
        Assert.Contains("LLM knobs differ", ex.Message);
        Assert.Throws<FileNotFoundException>(() => FoundationModels.LoadOrTrain(world, clipOnly, CPU, dir: FoundationFixture.TempDir("llmfrom-d"),
            llmFrom: FoundationFixture.TempDir("empty")));
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
