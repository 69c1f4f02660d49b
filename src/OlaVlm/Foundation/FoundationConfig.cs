using OlaVlm.Data;
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
    public int ClipSteps { get; init; } = 3000;
    /// Pairs per contrastive batch: each caption competes with BatchSize − 1 negatives.
    public int ClipBatch { get; init; } = 32;
    public double ClipLr { get; init; } = 3e-3;
    /// Hard-negative captions per image per step (HardNegatives, NegCLIP): its own caption with one shape, the
    /// binding of two shapes, or one depth changed. 0 = in-batch negatives only (found-8 and before).
    public int ClipHardNegatives { get; init; } = 1;
    /// Hard negatives written per training pair, the pool each step draws from.
    public int ClipNegativePool { get; init; } = 8;
    /// Weight of PatchHeads' segmentation read-out (each patch's class shares, from the world's exact segmentation)
    /// beside the contrastive loss; 0 = none (found-9 and before).
    public double ClipSegWeight { get; init; } = 1.0;
    /// Weight of PatchHeads' centre read-out (the shape of the object centred in each patch); 0 = none.
    public double ClipCentreWeight { get; init; } = 1.0;

    // ---- mini LLM (Llama decoder, next-token prediction on world text) ----
    // 128 wide, 4 heads of 32 dims, RoPE θ 1e6. The look-up of an object by name compares the name's and the
    // object's vectors across a whole prompt; RoPE rotates most of a 16-dim head too fast for that (at θ 1e4
    // only its slowest few pairs hold still over 100 tokens). With 8 heads of 16 and θ 1e4 (found-4) the
    // fact after a key was right 45–53 % teacher-forced; with 4 × 32 and θ 1e6, 100 % (World.SceneForm).
    public int LlmHidden { get; init; } = 128;
    public int LlmIntermediate { get; init; } = 344;
    public int LlmLayers { get; init; } = 4;
    public int LlmHeads { get; init; } = 4;
    public int LlmKvHeads { get; init; } = 4;
    public double LlmRopeTheta { get; init; } = 1e6;
    public int LlmSteps { get; init; } = 80;
    public int LlmBatch { get; init; } = 12;
    /// Tokens per training window (documents are packed into one stream, nanoGPT style).
    public int LlmSeqLen { get; init; } = 128;
    public double LlmLr { get; init; } = 3e-3;

    // ---- mini LLM, second phase: reasoning about scenes described in words ----
    /// Steps of scene-in-words question answering (SceneQaData) after the packed-text phase. Real LLaVA
    /// starts from an LLM that already reasons; this phase gives the miniature that starting point, once,
    /// at a budget of its own (it is what the text oracle measures).
    public int ReasoningSteps { get; init; } = 6000;
    /// The curriculum: steps of one-hop questions only before the benchmark's comparisons begin.
    public int ReasoningOneHopSteps { get; init; } = 1500;
    /// Share of one-hop questions kept after the switch, so the look-ups stay sharp.
    public double ReasoningOneHopShare { get; init; } = 0.2;
    public int ReasoningBatch { get; init; } = 16;
    /// Questions per scene (each conversation states one scene, then asks this many).
    public int ReasoningTurns { get; init; } = 4;
    public double ReasoningLr { get; init; } = 2e-3;
    /// How reasoning data and the text oracle state a scene (World.SceneForm): one token per object by default.
    public World.SceneForm SceneForm { get; init; } = World.SceneForm.Objects;
    /// Benchmark items the text oracle answers when the foundation is trained (0 = all).
    public int OracleItems { get; init; } = 0;

    public double WeightDecay { get; init; } = 0.05;
    public int LogEvery { get; init; } = 10;
    public long Seed { get; init; } = 7;
    /// Validation windows for perplexity (null = all of val); keeps the quick profile fast.
    public int? LlmValWindows { get; init; }

    // Default (full) preset, measured on the 8,000-scene world (the shipped data/foundation, found-10): 3,000 CLIP
    // steps of 32 pairs, each image also against one hard negative, with the patch heads, give top-1 retrieval
    // 91.4 % image→text / 91.0 % text→image on 500 val pairs (0.2 % chance) in 4 minutes; without the heads
    // (found-9) 79.6 % / 80.6 %; found-8's 800 steps without hard negatives 27.0 % / 26.4 %. The LLM: val
    // perplexity 3.04, text oracle 0.985 after 6,000 reasoning steps (README).

    /// CI preset: a few seconds of training, same shapes of everything.
    public static FoundationConfig Quick { get; } = new()
    {
        Vision = ClipVisionConfig.Miniature() with { NumLayers = 2 },
        ClipSteps = 24, ClipBatch = 16, LlmHidden = 64, LlmIntermediate = 172, LlmHeads = 4, LlmKvHeads = 2, LlmLayers = 2,
        LlmSteps = 30, LlmBatch = 8, LlmSeqLen = 64, LogEvery = 4, LlmValWindows = 32,
        ReasoningSteps = 12, ReasoningOneHopSteps = 4, ReasoningBatch = 4, ReasoningTurns = 2, OracleItems = 24,
    };

    /// This config with `other`'s CLIP knobs: equal to `other` exactly when the two differ in the CLIP alone, so
    /// the LLM they train is the same (it never sees the CLIP; FoundationModels' llmFrom relies on this).
    public FoundationConfig WithClipOf(FoundationConfig other) => this with
    {
        Vision = other.Vision, TextHidden = other.TextHidden, TextLayers = other.TextLayers, TextHeads = other.TextHeads,
        TextLength = other.TextLength, ProjectionDim = other.ProjectionDim, ClipSteps = other.ClipSteps, ClipBatch = other.ClipBatch,
        ClipLr = other.ClipLr, ClipHardNegatives = other.ClipHardNegatives, ClipNegativePool = other.ClipNegativePool,
        ClipSegWeight = other.ClipSegWeight, ClipCentreWeight = other.ClipCentreWeight,
    };

    public ClipConfig ClipModelConfig(int vocabSize) =>
        new(new ClipTextConfig(vocabSize, TextHidden, 4 * TextHidden, TextLayers, TextHeads, MaxPositionEmbeddings: TextLength),
            Vision, ProjectionDim);

    public LlamaConfig LlmModelConfig(int vocabSize) =>
        LlamaConfig.Miniature(vocabSize) with
        {
            HiddenSize = LlmHidden, IntermediateSize = LlmIntermediate, NumLayers = LlmLayers,
            NumHeads = LlmHeads, NumKvHeads = LlmKvHeads, RopeTheta = LlmRopeTheta,
        };

    public void Validate()
    {
        void Need(bool ok, string what) { if (!ok) throw new ArgumentException($"FoundationConfig: {what}"); }
        Need(ClipSteps > 0 && LlmSteps > 0, $"steps must be > 0 (ClipSteps {ClipSteps}, LlmSteps {LlmSteps})");
        Need(ReasoningSteps >= 0 && ReasoningOneHopSteps >= 0 && ReasoningOneHopSteps <= ReasoningSteps,
             $"ReasoningOneHopSteps ({ReasoningOneHopSteps}) must be within 0..ReasoningSteps ({ReasoningSteps})");
        Need(ReasoningBatch > 0 && ReasoningTurns > 0, $"ReasoningBatch ({ReasoningBatch}) and ReasoningTurns ({ReasoningTurns}) must be > 0");
        Need(ClipHardNegatives >= 0 && (ClipHardNegatives == 0 || ClipNegativePool > 0),
             $"ClipHardNegatives ({ClipHardNegatives}) must be >= 0, with ClipNegativePool ({ClipNegativePool}) > 0 when used");
        Need(ClipSegWeight >= 0 && ClipCentreWeight >= 0, $"ClipSegWeight ({ClipSegWeight}) and ClipCentreWeight ({ClipCentreWeight}) must be >= 0");
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
