using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OlaVlm.Model;

namespace OlaVlm.Foundation;

/// Everything that decides the two miniature foundation models (the pre-trained CLIP and LLM that
/// LLaVA-1.5 starts from). The cache folder is named after a hash of this record and the world's config,
/// so changing any knob trains new models beside the old ones.
public sealed record FoundationConfig
{
    // ---- mini CLIP (vision + text towers, contrastive) ----
    /// Vision tower: LLaVA sees its patch features (64×64 images, 8×8 patches → 64 tokens, select layer −2).
    public ClipVisionConfig Vision { get; init; } = ClipVisionConfig.Miniature();
    public int TextHidden { get; init; } = 64;
    public int TextLayers { get; init; } = 2;
    public int TextHeads { get; init; } = 4;
    /// Longest caption in tokens (with its EOS); a longer caption is an error, not a silent cut.
    public int TextLength { get; init; } = 64;
    public int ProjectionDim { get; init; } = 64;
    public int ClipSteps { get; init; } = 400;
    /// Pairs per contrastive batch: each caption competes with BatchSize − 1 negatives.
    public int ClipBatch { get; init; } = 64;
    public double ClipLr { get; init; } = 2e-3;

    // ---- mini LLM (Llama decoder, next-token prediction on world text) ----
    public int LlmHidden { get; init; } = 64;
    public int LlmIntermediate { get; init; } = 172;
    public int LlmLayers { get; init; } = 4;
    public int LlmHeads { get; init; } = 4;
    public int LlmKvHeads { get; init; } = 2;
    public int LlmSteps { get; init; } = 400;
    public int LlmBatch { get; init; } = 16;
    /// Tokens per training window (documents are packed into one stream, nanoGPT style).
    public int LlmSeqLen { get; init; } = 128;
    public double LlmLr { get; init; } = 3e-3;

    public double WeightDecay { get; init; } = 0.05;
    public int LogEvery { get; init; } = 10;
    public long Seed { get; init; } = 7;
    /// Validation windows for perplexity (null = all of val); keeps the quick profile fast.
    public int? LlmValWindows { get; init; }

    /// CI preset: a few seconds of training, same shapes of everything.
    public static FoundationConfig Quick { get; } = new()
    {
        Vision = ClipVisionConfig.Miniature() with { NumLayers = 2 },
        ClipSteps = 40, ClipBatch = 32, LlmLayers = 2, LlmSteps = 40, LlmBatch = 8, LlmSeqLen = 64, LogEvery = 5,
        LlmValWindows = 32,
    };

    public ClipConfig ClipModelConfig(int vocabSize) =>
        new(new ClipTextConfig(vocabSize, TextHidden, 4 * TextHidden, TextLayers, TextHeads, MaxPositionEmbeddings: TextLength),
            Vision, ProjectionDim);

    public LlamaConfig LlmModelConfig(int vocabSize) =>
        LlamaConfig.Miniature(vocabSize) with
        {
            HiddenSize = LlmHidden, IntermediateSize = LlmIntermediate, NumLayers = LlmLayers,
            NumHeads = LlmHeads, NumKvHeads = LlmKvHeads,
        };

    public void Validate()
    {
        void Need(bool ok, string what) { if (!ok) throw new ArgumentException($"FoundationConfig: {what}"); }
        Need(ClipSteps > 0 && LlmSteps > 0, $"steps must be > 0 (ClipSteps {ClipSteps}, LlmSteps {LlmSteps})");
        Need(ClipBatch > 1, $"ClipBatch must be > 1: a contrastive batch needs negatives (got {ClipBatch})");
        Need(LlmBatch > 0 && LlmSeqLen > 1, $"LlmBatch ({LlmBatch}) must be > 0 and LlmSeqLen ({LlmSeqLen}) > 1");
        Need(TextHidden % TextHeads == 0, $"TextHidden {TextHidden} is not divisible by TextHeads {TextHeads}");
        Need(Vision.NumLayers >= 2, $"the vision tower needs >= 2 layers so LLaVA's select layer −2 is a transformer layer (got {Vision.NumLayers})");
        LlmModelConfig(16).Validate();
    }

    public string ToJson() => JsonSerializer.Serialize(this, FoundationModels.Json);

    /// Cache key: this config + the world's config hash + the code version.
    public string Hash(string worldHash) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(FoundationModels.Version + worldHash + ToJson())))[..12].ToLowerInvariant();
}
