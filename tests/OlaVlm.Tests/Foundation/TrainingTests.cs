using OlaVlm.Data;
using OlaVlm.Foundation;
using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Foundation;

public class TrainingTests
{
    static readonly Device Cpu = CPU;

    [Fact]
    public void Tiny_clip_contrastive_loss_falls_on_world_pairs()
    {
        var world = FoundationFixture.World;
        var tok = FoundationFixture.Tokenizer;
        // The contrastive loss alone (PatchSupervisionTests covers the patch heads).
        var f = FoundationFixture.Tiny with { ClipSteps = 25, ClipBatch = 8, ClipLr = 3e-3, WeightDecay = 0, ClipSegWeight = 0, ClipCentreWeight = 0 };
        using var pairs = ClipPairs.FromCaptionData(LlavaDataset.Load(world.PtJson), tok, f.TextLength);
        // A fixed subset of 8 pairs: the model can memorise which caption goes with which image.
        using var clip = new ClipModel(f.ClipModelConfig(tok.VocabSize), Cpu);
        var idx = Enumerable.Range(0, 8).ToList();
        double Loss()
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var (px, ids, mask) = pairs.Batch(idx, tok.PadId, Cpu);
            return clip.Loss(px, ids, mask).item<float>();
        }
        double before = Loss();
        using var sub = ClipPairsSubset(world, tok, f, 8);
        var history = MiniClip.Train(clip, sub, f, tok.PadId, FoundationFixture.TempDir("clip"), Cpu);
        double after = Loss();
        Assert.Equal(25, history.Count);
        Assert.True(after < before - 0.3, $"contrastive loss {before:F3} → {after:F3}");
        Assert.True(before > Math.Log(8) - 0.7, $"an untrained CLIP should be near chance (ln 8 = {Math.Log(8):F2}), got {before:F3}");
    }

    /// The first n pt pairs as their own dataset (BatchAt then always returns all of them).
    static ClipPairs ClipPairsSubset(WorldData world, WordTokenizer tok, FoundationConfig f, int n)
    {
        var dir = FoundationFixture.TempDir("pairs");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(world.PtJson))!.AsArray();
        var first = new System.Text.Json.Nodes.JsonArray(json.Take(n).Select(x => x!.DeepClone()).ToArray());
        var path = Path.Combine(dir, "pt.json");
        File.WriteAllText(path, first.ToJsonString());
        return ClipPairs.FromCaptionData(LlavaDataset.Load(path, imageRoot: world.Root), tok, f.TextLength);
    }

    [Fact]
    public void Tiny_llm_loss_falls_on_world_text()
    {
        var world = FoundationFixture.World;
        var tok = FoundationFixture.Tokenizer;
        var f = FoundationFixture.Tiny with { LlmSteps = 30, LlmLr = 1e-2 };
        var corpus = TextCorpus.FromDatasets([LlavaDataset.Load(world.PtJson), LlavaDataset.Load(world.IftJson)], tok, ChatTemplate.Miniature());
        Assert.True(corpus.Tokens.Length > 1000);
        Assert.DoesNotContain(tok.ImageId, corpus.Tokens);   // text only
        using var lm = new LlamaForCausalLM(f.LlmModelConfig(tok.VocabSize), Cpu);
        var val = TextCorpus.FromDatasets([LlavaDataset.Load(world.ValJson)], tok, ChatTemplate.Miniature());
        var before = MiniLlm.Evaluate(lm, val, f.LlmSeqLen, Cpu, 8);
        var history = MiniLlm.Train(lm, corpus, f, FoundationFixture.TempDir("llm"), Cpu);
        var after = MiniLlm.Evaluate(lm, val, f.LlmSeqLen, Cpu, 8);
        Assert.True(history[^1].Loss < history[0].Loss - 1, $"train loss {history[0].Loss:F2} → {history[^1].Loss:F2}");
        Assert.True(after.Perplexity < before.Perplexity / 2, $"val perplexity {before.Perplexity:F1} → {after.Perplexity:F1}");
        Assert.True(before.Perplexity > tok.VocabSize / 4.0, $"untrained perplexity {before.Perplexity:F1} should be near the vocabulary size {tok.VocabSize}");
    }
}
