using System.Text.Json.Nodes;

namespace OlaVlm.Model;

/// Shape of a Llama-family decoder. Field meanings and JSON keys follow Hugging Face's LlamaConfig,
/// so a real checkpoint's config.json reads straight into this record.
/// Phi-3 is the same decoder with three options (Phi3Config reads its config.json): SlidingWindow (each query sees
/// itself and the SlidingWindow keys before it), RopeScaling (LongRoPE) and ModelType "phi3" (fused qkv_proj /
/// gate_up_proj tensors in its checkpoints, split at load by Phi3Weights).
public sealed record LlamaConfig(
    int VocabSize,
    int HiddenSize,
    int IntermediateSize,
    int NumLayers,
    int NumHeads,
    int NumKvHeads,
    double RopeTheta = 10000.0,
    double RmsNormEps = 1e-6,
    bool TieWordEmbeddings = false,
    int MaxPositionEmbeddings = 2048,
    long BosTokenId = 1,
    long EosTokenId = 2,
    int? SlidingWindow = null,
    LongRopeScaling? RopeScaling = null,
    string ModelType = "llama")
{
    public int HeadDim => HiddenSize / NumHeads;

    /// Runs in seconds on a 2-core CPU: the default "miniature world" decoder.
    public static LlamaConfig Miniature(int vocabSize) =>
        new(vocabSize, HiddenSize: 64, IntermediateSize: 172, NumLayers: 4, NumHeads: 4, NumKvHeads: 2,
            RopeTheta: 10000.0, RmsNormEps: 1e-5, TieWordEmbeddings: true, MaxPositionEmbeddings: 1024);

    /// Meta-Llama-3-8B(-Instruct): 32 layers, GQA 32/8, rope theta 500000, 128,256-token vocabulary.
    public static LlamaConfig Llama3_8B() =>
        new(128256, 4096, 14336, 32, 32, 8, RopeTheta: 500000.0, RmsNormEps: 1e-5, TieWordEmbeddings: false,
            MaxPositionEmbeddings: 8192, BosTokenId: 128000, EosTokenId: 128009);

    public void Validate()
    {
        if (HiddenSize % NumHeads != 0)
            throw new ArgumentException($"LlamaConfig: hidden {HiddenSize} is not divisible by heads {NumHeads}");
        if (NumKvHeads < 1 || NumKvHeads > NumHeads || NumHeads % NumKvHeads != 0)
            throw new ArgumentException($"LlamaConfig: kv heads {NumKvHeads} must divide heads {NumHeads}");
        if (HeadDim % 2 != 0) throw new ArgumentException($"LlamaConfig: head dim {HeadDim} must be even for RoPE");
        if (SlidingWindow is < 1) throw new ArgumentException($"LlamaConfig: sliding window {SlidingWindow} must be at least 1");
        RopeScaling?.Validate(HeadDim, "LlamaConfig");
    }

    /// Reads a Hugging Face config.json (model_type "llama"). A LLaVA config (model_type "llava_llama")
    /// carries the same keys at top level, so it reads too.
    /// A Phi-3 config (model_type "phi3" or "llava_phi3") reads through Phi3Config.FromHfJson.
    public static LlamaConfig FromHfJson(JsonNode j, string source = "config.json")
    {
        if (ConfigJson.String(j, "model_type", source) is string type && type.EndsWith("phi3")) return Phi3Config.FromHfJson(j, source);
        int I(string k) => ConfigJson.Int(j, k, source);
        if (j["rope_scaling"] is JsonObject)
            throw new NotSupportedException($"{source}: rope_scaling is not implemented (Llama-3.1 style checkpoints)");
        int heads = I("num_attention_heads");
        long eos = ConfigJson.LongOrFirst(j, "eos_token_id", source, 2);
        var c = new LlamaConfig(I("vocab_size"), I("hidden_size"), I("intermediate_size"), I("num_hidden_layers"), heads,
            ConfigJson.Int(j, "num_key_value_heads", source, heads),
            ConfigJson.Double(j, "rope_theta", source, 10000.0),
            ConfigJson.Double(j, "rms_norm_eps", source, 1e-6),
            ConfigJson.Bool(j, "tie_word_embeddings", source, false),
            ConfigJson.Int(j, "max_position_embeddings", source, 2048),
            ConfigJson.Long(j, "bos_token_id", source, 1), eos);
        try { c.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{source}: {e.Message}", e); }
        return c;
    }

    public JsonObject ToHfJson() => ModelType == "phi3" ? Phi3Config.ToHfJson(this) : new()
    {
        ["model_type"] = "llama", ["architectures"] = new JsonArray("LlamaForCausalLM"),
        ["vocab_size"] = VocabSize, ["hidden_size"] = HiddenSize, ["intermediate_size"] = IntermediateSize,
        ["num_hidden_layers"] = NumLayers, ["num_attention_heads"] = NumHeads, ["num_key_value_heads"] = NumKvHeads,
        ["rope_theta"] = RopeTheta, ["rms_norm_eps"] = RmsNormEps, ["tie_word_embeddings"] = TieWordEmbeddings,
        ["max_position_embeddings"] = MaxPositionEmbeddings, ["bos_token_id"] = BosTokenId, ["eos_token_id"] = EosTokenId,
        ["hidden_act"] = "silu",
    };
}
