using System.Text.Json.Nodes;

namespace OlaVlm.Model;

/// Phi-3 (Hugging Face model_type "phi3", transformers' Phi3Config) as a LlamaConfig: the same pre-norm decoder with
/// RMSNorm, SwiGLU and RoPE in rotate-half layout, plus a sliding attention window and LongRoPE. Its checkpoints fuse
/// q/k/v into `self_attn.qkv_proj` and gate/up into `mlp.gate_up_proj` (Phi3Weights splits them at load).
/// Defaults for keys a config.json leaves out are transformers' Phi3Config defaults.
public static class Phi3Config
{
    /// microsoft/Phi-3-mini-4k-instruct: 32 layers, 32 heads (no GQA), window 2047, untied head, 32,064-token vocabulary.
    public static LlamaConfig Mini4k() =>
        new(32064, 3072, 8192, 32, 32, 32, RopeTheta: 10000.0, RmsNormEps: 1e-5, TieWordEmbeddings: false,
            MaxPositionEmbeddings: 4096, BosTokenId: 1, EosTokenId: 32000, SlidingWindow: 2047, ModelType: "phi3");

    /// Reads a Phi-3 (or LLaVA-Phi-3, model_type "llava_phi3") config.json. Refuses what this decoder does not
    /// compute rather than ignoring it: another activation, a partial rotary factor, attention biases, other
    /// rope_scaling types.
    public static LlamaConfig FromHfJson(JsonNode j, string source = "config.json")
    {
        int I(string k) => ConfigJson.Int(j, k, source);
        var act = ConfigJson.String(j, "hidden_act", source, "silu");
        if (act != "silu") throw new NotSupportedException($"{source}: hidden_act '{act}' is not supported (Phi-3 uses silu)");
        if (ConfigJson.Double(j, "partial_rotary_factor", source, 1.0) is double prf && prf != 1.0)
            throw new NotSupportedException($"{source}: partial_rotary_factor {prf} is not supported (Phi-3 rotates the whole head)");
        if (ConfigJson.Bool(j, "attention_bias", source, false))
            throw new NotSupportedException($"{source}: attention_bias true is not supported (Phi-3 projections have no bias)");
        int heads = I("num_attention_heads");
        int originalMax = ConfigJson.Int(j, "original_max_position_embeddings", source, 4096);
        long eos = ConfigJson.LongOrFirst(j, "eos_token_id", source, 32000);
        var c = new LlamaConfig(I("vocab_size"), I("hidden_size"), I("intermediate_size"), I("num_hidden_layers"), heads,
            ConfigJson.Int(j, "num_key_value_heads", source, heads),
            RopeTheta: ConfigJson.Double(j, "rope_theta", source, 10000.0),
            RmsNormEps: ConfigJson.Double(j, "rms_norm_eps", source, 1e-5),
            TieWordEmbeddings: ConfigJson.Bool(j, "tie_word_embeddings", source, false),
            MaxPositionEmbeddings: ConfigJson.Int(j, "max_position_embeddings", source, 4096),
            BosTokenId: ConfigJson.Long(j, "bos_token_id", source, 1), EosTokenId: eos,
            SlidingWindow: j["sliding_window"] is null ? null : ConfigJson.Int(j, "sliding_window", source),
            RopeScaling: LongRopeScaling.FromHfJson(j["rope_scaling"], originalMax, source),
            ModelType: "phi3");
        try { c.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{source}: {e.Message}", e); }
        return c;
    }

    public static JsonObject ToHfJson(LlamaConfig c) => new()
    {
        ["model_type"] = "phi3", ["architectures"] = new JsonArray("Phi3ForCausalLM"),
        ["vocab_size"] = c.VocabSize, ["hidden_size"] = c.HiddenSize, ["intermediate_size"] = c.IntermediateSize,
        ["num_hidden_layers"] = c.NumLayers, ["num_attention_heads"] = c.NumHeads, ["num_key_value_heads"] = c.NumKvHeads,
        ["rope_theta"] = c.RopeTheta, ["rms_norm_eps"] = c.RmsNormEps, ["tie_word_embeddings"] = c.TieWordEmbeddings,
        ["max_position_embeddings"] = c.MaxPositionEmbeddings,
        ["original_max_position_embeddings"] = c.RopeScaling?.OriginalMaxPositionEmbeddings ?? c.MaxPositionEmbeddings,
        ["rope_scaling"] = c.RopeScaling?.ToHfJson(), ["sliding_window"] = c.SlidingWindow,
        ["bos_token_id"] = c.BosTokenId, ["eos_token_id"] = c.EosTokenId, ["hidden_act"] = "silu",
    };
}
