using OlaVlm.Core;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Phi-3 checkpoints store each layer's attention input projection as one `self_attn.qkv_proj.weight`
/// ([(heads + 2·kvHeads)·headDim, hidden]: query rows, then key rows, then value rows) and its MLP input as one
/// `mlp.gate_up_proj.weight` ([2·intermediate, hidden]: gate rows, then up rows — transformers' chunk(2) order).
/// The decoder here keeps Llama's separate q_proj/k_proj/v_proj and gate_proj/up_proj, which compute the same
/// products; these maps translate between the two layouts at load and save time.
public static class Phi3Weights
{
    const string Qkv = "self_attn.qkv_proj.weight", GateUp = "mlp.gate_up_proj.weight";

    /// Fused checkpoint tensors → separate ones (views, no copy); every other key passes through unchanged.
    /// A fused tensor whose shape does not fit the config throws, naming the file, key and both shapes.
    public static Dictionary<string, Tensor> Unfuse(IReadOnlyDictionary<string, Tensor> sd, LlamaConfig c, string source)
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (key, t) in sd)
        {
            if (key.EndsWith(Qkv))
            {
                var parts = Split(t, key, c.NumHeads * c.HeadDim, c.NumKvHeads * c.HeadDim, c.NumKvHeads * c.HeadDim, c.HiddenSize, source);
                var stem = key[..^Qkv.Length] + "self_attn.";
                result[stem + "q_proj.weight"] = parts[0]; result[stem + "k_proj.weight"] = parts[1]; result[stem + "v_proj.weight"] = parts[2];
            }
            else if (key.EndsWith(GateUp))
            {
                var parts = Split(t, key, c.IntermediateSize, c.IntermediateSize, 0, c.HiddenSize, source);
                var stem = key[..^GateUp.Length] + "mlp.";
                result[stem + "gate_proj.weight"] = parts[0]; result[stem + "up_proj.weight"] = parts[1];
            }
            else result[key] = t;
        }
        return result;
    }

    static Tensor[] Split(Tensor t, string key, long a, long b, long cRows, long hidden, string source)
    {
        long[] expected = [a + b + cRows, hidden];
        if (!t.shape.SequenceEqual(expected))
            throw new CheckpointMismatchException(source, [new(key, CheckpointMismatchException.ShapeKind, expected, t.shape)]);
        var rows = new[] { a, b, cRows }.Where(n => n > 0).ToArray();
        long at = 0;
        return rows.Select(n => { var v = t.narrow(0, at, n); at += n; return v; }).ToArray();
    }

    /// Separate tensors (our names) → Phi-3's fused layout, for writing checkpoints transformers' Phi3 reads.
    public static Dictionary<string, Tensor> Fuse(IReadOnlyDictionary<string, Tensor> sd)
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (key, t) in sd)
        {
            if (key.EndsWith("self_attn.q_proj.weight"))
            {
                var stem = key[..^"q_proj.weight".Length];
                result[stem + "qkv_proj.weight"] = cat([t, sd[stem + "k_proj.weight"], sd[stem + "v_proj.weight"]], 0);
            }
            else if (key.EndsWith("mlp.gate_proj.weight"))
            {
                var stem = key[..^"gate_proj.weight".Length];
                result[stem + "gate_up_proj.weight"] = cat([t, sd[stem + "up_proj.weight"]], 0);
            }
            else if (!key.EndsWith("self_attn.k_proj.weight") && !key.EndsWith("self_attn.v_proj.weight") && !key.EndsWith("mlp.up_proj.weight"))
                result[key] = t;
        }
        return result;
    }

    /// The checkpoint (fused) names and shapes of a Phi-3 model from its own parameter names and shapes — what a
    /// transformers Phi3ForCausalLM state dict holds, computed without touching weights (e.g. a meta-device model).
    public static SortedDictionary<string, long[]> FusedShapes(IEnumerable<(string Name, long[] Shape)> ours)
    {
        var map = ours.ToDictionary(p => p.Name, p => p.Shape);
        var result = new SortedDictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var (name, shape) in map)
        {
            if (name.EndsWith("self_attn.q_proj.weight"))
            {
                var stem = name[..^"q_proj.weight".Length];
                result[stem + "qkv_proj.weight"] = [shape[0] + map[stem + "k_proj.weight"][0] + map[stem + "v_proj.weight"][0], shape[1]];
            }
            else if (name.EndsWith("mlp.gate_proj.weight"))
                result[name[..^"gate_proj.weight".Length] + "gate_up_proj.weight"] = [2 * shape[0], shape[1]];
            else if (!name.EndsWith("self_attn.k_proj.weight") && !name.EndsWith("self_attn.v_proj.weight") && !name.EndsWith("mlp.up_proj.weight"))
                result[name] = shape;
        }
        return result;
    }
}
