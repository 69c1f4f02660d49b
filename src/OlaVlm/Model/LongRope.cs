using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Phi-3's LongRoPE scaling (config.json rope_scaling type "su"; later transformers versions spell it "longrope").
/// Each RoPE frequency i is divided by a per-frequency factor: ShortFactor[i] while the sequence fits the original
/// training context, LongFactor[i] beyond it. cos and sin are multiplied by an attention factor
/// sqrt(1 + ln(s) / ln(OriginalMaxPositionEmbeddings)) with s = max_position_embeddings / OriginalMaxPositionEmbeddings
/// (1 when s ≤ 1), which keeps attention logits' scale as the context stretches.
public sealed record LongRopeScaling(string Type, double[] ShortFactor, double[] LongFactor, int OriginalMaxPositionEmbeddings)
{
    public static readonly string[] Types = ["su", "longrope"];

    /// rope_scaling from a Phi-3 config.json (null → no scaling). "type" (or "rope_type") must be su/longrope.
    public static LongRopeScaling? FromHfJson(JsonNode? node, int originalMax, string source)
    {
        if (node is null) return null;
        if (node is not JsonObject o) throw new InvalidDataException($"{source}: rope_scaling must be an object or null, got {node.ToJsonString()}");
        var type = (o["type"] ?? o["rope_type"])?.GetValue<string>()
                   ?? throw new InvalidDataException($"{source}: rope_scaling has no 'type'");
        if (!Types.Contains(type))
            throw new NotSupportedException($"{source}: rope_scaling type '{type}' is not supported (implemented: {string.Join(", ", Types)})");
        double[] Factors(string key) => o[key] is JsonArray a ? a.Select(x => x is JsonValue v && double.TryParse(v.ToJsonString(),
                System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) ? d
                : throw new InvalidDataException($"{source}: rope_scaling {key} holds a non-number {x?.ToJsonString()}")).ToArray()
            : throw new InvalidDataException($"{source}: rope_scaling '{type}' needs the list '{key}'");
        return new LongRopeScaling(type, Factors("short_factor"), Factors("long_factor"), originalMax);
    }

    public JsonObject ToHfJson() => new()
    {
        ["type"] = Type, ["short_factor"] = new JsonArray(ShortFactor.Select(x => (JsonNode)x).ToArray()),
        ["long_factor"] = new JsonArray(LongFactor.Select(x => (JsonNode)x).ToArray()),
    };

    public void Validate(int headDim, string source)
    {
        foreach (var (name, f) in new[] { ("short_factor", ShortFactor), ("long_factor", LongFactor) })
            if (f.Length != headDim / 2)
                throw new InvalidDataException($"{source}: rope_scaling {name} has {f.Length} entries; head dim {headDim} needs {headDim / 2}");
        if (OriginalMaxPositionEmbeddings < 1)
            throw new InvalidDataException($"{source}: original_max_position_embeddings {OriginalMaxPositionEmbeddings} must be positive");
    }

    /// The cos/sin multiplier for a model whose context was stretched to maxPositionEmbeddings.
    public double AttentionFactor(int maxPositionEmbeddings)
    {
        double scale = (double)maxPositionEmbeddings / OriginalMaxPositionEmbeddings;
        return scale <= 1.0 ? 1.0 : Math.Sqrt(1 + Math.Log(scale) / Math.Log(OriginalMaxPositionEmbeddings));
    }
}

/// RoPE tables for a decoder config: plain RoPE, or LongRoPE when the config has RopeScaling.
public static class LongRope
{
    /// positionIds [B, T] → cos, sin [B, T, headDim]. As transformers' Phi3SuScaledRotaryEmbedding (v4.41) the
    /// factor set is chosen per forward call from max(positionIds) + 1, so during cached decoding the tokens before
    /// the switch keep the short-factor rotation their keys were cached with.
    public static (Tensor Cos, Tensor Sin) Tables(Tensor positionIds, LlamaConfig c, ScalarType dtype)
    {
        if (c.RopeScaling is not LongRopeScaling s) return RotaryEmbedding.Tables(positionIds, c.HeadDim, c.RopeTheta, dtype);
        using var scope = NewDisposeScope();
        long seqLen = positionIds.max().item<long>() + 1;
        var ext = tensor(seqLen > s.OriginalMaxPositionEmbeddings ? s.LongFactor : s.ShortFactor, device: positionIds.device).to(ScalarType.Float32);
        var exponents = arange(0, c.HeadDim, 2, dtype: ScalarType.Float32, device: positionIds.device) / c.HeadDim;
        var invFreq = (ext * pow(c.RopeTheta, exponents)).reciprocal();                // [headDim/2]
        var freqs = einsum("bt,f->btf", positionIds.to(ScalarType.Float32), invFreq);
        var emb = cat([freqs, freqs], -1);
        double factor = s.AttentionFactor(c.MaxPositionEmbeddings);
        return ((emb.cos() * factor).to(dtype).MoveToOuterDisposeScope(), (emb.sin() * factor).to(dtype).MoveToOuterDisposeScope());
    }
}
