using OlaVlm.Model;
using OlaVlm.Stages;
using OlaVlm.Training;
using Xunit.Abstractions;
using static OlaVlm.Tests.Stages.StageFixture;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Training;

/// A small pretrained LLaVA for LoRA tests. Why pretrained: LoRA adapts a trained LLM; on StageFixture's fresh
/// model (weights N(0, 0.02)) the frozen tied head caps every logit near 0.6, so no adapter inside the layers
/// can lower the loss much (measured: 3.54 → 3.40 in 30 steps, where full IFT, which trains the head, falls
/// to 1.2). So: full-weight IFT on task A (StageFixture's answers) first, then each arm learns task B.
static class PretrainedTiny
{
    static readonly Lazy<Dictionary<string, Tensor>> Weights = new(() =>
    {
        var m = NewModel(heads: false, seed: 1);
        var cfg = StageConfig.QuickFinetune with { Steps = 80, BatchSize = 8, OneHopSteps = 0, WarmupRatio = 0.1, ProjectorLr = 1e-2, LlmLr = 1e-2, Seed = 1 };
        Stage.Run(m, cfg, NewData(32), null, RunDir("lora-base"), progress: new ConsoleProgress(TextWriter.Null));
        return m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
    });

    /// A fresh copy of the pretrained baseline model.
    public static OlaVlmModel Model()
    {
        var m = NewModel(heads: false, seed: 99);
        Checkpoint.Load(m, Weights.Value);
        return m;
    }

    /// Task B: other prompts, another answer rule (5 + (11t + 3) mod 35), every sample with an image.
    public static InMemoryStageData TaskB(int count = 32)
    {
        var samples = new List<MultimodalSample>(); var keys = new List<string?>(); var images = new Dictionary<string, Tensor>();
        for (int i = 0; i < count; i++)
        {
            var rng = new Random(1000 + i);
            var prompt = Enumerable.Range(0, 3).Select(_ => (long)rng.Next(5, 40)).ToArray();
            var ids = new List<long> { 1, 5, 6, ImageId };
            ids.AddRange(prompt);
            int start = ids.Count;
            ids.AddRange(prompt.Select(t => 5 + (t * 11 + 3) % 35));
            ids.Add(2);
            samples.Add(new MultimodalSample(ids.ToArray(), ids.Select((t, k) => k >= start ? t : Labels.Ignore).ToArray()));
            keys.Add($"b{i}");
            images[$"b{i}"] = Image(1000 + i);
        }
        return new InMemoryStageData(samples, keys, images, ImageId);
    }

    /// IFT on task B from the pretrained model: full weights (lora null) or LoRA, same seed, steps and data order.
    public static IReadOnlyList<double> Ift(LoraConfig? lora, int steps, double fullLr = 1e-2)
    {
        var cfg = StageConfig.QuickFinetune with
        {
            Steps = steps, BatchSize = 8, OneHopSteps = 0, WarmupRatio = 0.1, ProjectorLr = fullLr, LlmLr = fullLr, Seed = 11, Lora = lora,
        };
        var r = Stage.Run(Model(), cfg, TaskB(), null, RunDir(lora is null ? "ift-full" : "ift-lora"), progress: new ConsoleProgress(TextWriter.Null));
        return MetricsLog.Column(r.Metrics, "loss");
    }
}

[Collection(OlaVlm.Tests.Stages.SerialTorchCollection.Name)]
public class LoraVsFullIftTests(ITestOutputHelper output)
{
    /// LoRA IFT against full IFT: same pretrained model, seed, data order, 60 steps of batch 8; a loss = the mean
    /// of 5 steps. Measured (seed 11, about 30 s on 2 cores): full IFT (lr 1e-2) 6.70 → 2.44; LoRA (r 8, α 16,
    /// dropout 0.05, lr 3e-3) 7.85 → 2.77, 1.13 × full's. Full IFT at 3e-3 ends at 2.83; LoRA at 1e-2 and 3e-2
    /// ends at 3.32 and 3.31 (1.36 ×), and at r 4 / 1e-2 at 2.77. Other data-order seeds, same setting: seed 12
    /// full 2.48, LoRA 2.69 (1.09 ×); seed 13 full 2.45, LoRA 3.02 (1.23 ×). Margin: LoRA within 1.3 × full IFT's
    /// final loss, above the chosen setting's 1.09–1.23 × and below the overshooting rates' 1.36 ×; and LoRA must
    /// end below half its starting loss, so a LoRA that does not learn cannot pass on a weak full-IFT run.
    [Fact]
    public void Lora_ift_ends_within_the_margin_of_full_ift()
    {
        var full = PretrainedTiny.Ift(null, 60);
        var lora = PretrainedTiny.Ift(LoraConfig.Miniature with { R = 8, Alpha = 16, LearningRate = 3e-3 }, 60);
        double fullEnd = full.TakeLast(5).Average(), loraEnd = lora.TakeLast(5).Average();
        output.WriteLine($"full IFT {full.Take(5).Average():F4} → {fullEnd:F4}; LoRA IFT {lora.Take(5).Average():F4} → {loraEnd:F4}; ratio {loraEnd / fullEnd:F3}");
        Assert.True(loraEnd < 0.5 * lora.Take(5).Average(), $"LoRA IFT barely learned: {lora.Take(5).Average():F4} → {loraEnd:F4}");
        Assert.True(loraEnd <= 1.3 * fullEnd, $"LoRA IFT ends at {loraEnd:F4}, over 1.3 × full IFT's {fullEnd:F4}");
    }
}
