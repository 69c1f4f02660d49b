using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Multi-head self-attention of a CLIP encoder layer (biases on every projection, unlike Llama).
public sealed class ClipAttention : nn.Module
{
    private readonly Linear k_proj, v_proj, q_proj, out_proj;
    private readonly int heads;

    public ClipAttention(int width, int heads) : base(nameof(ClipAttention))
    {
        this.heads = heads;
        k_proj = nn.Linear(width, width); v_proj = nn.Linear(width, width);
        q_proj = nn.Linear(width, width); out_proj = nn.Linear(width, width);
        RegisterComponents();
    }

    /// x [B, T, width]; mask additive [B, 1, T, T] or null (vision: every patch sees every patch).
    public Tensor forward(Tensor x, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], d = x.shape[2] / heads;
        Tensor Split(Tensor y) => y.view(b, t, heads, d).transpose(1, 2);
        var y = Attention.ScaledDotProduct(Split(q_proj.forward(x)), Split(k_proj.forward(x)), Split(v_proj.forward(x)), mask);
        return out_proj.forward(y.transpose(1, 2).reshape(b, t, heads * d)).MoveToOuterDisposeScope();
    }
}

/// CLIP's MLP: fc1 → activation → fc2. The activation is the config's hidden_act: "quick_gelu" (x·σ(1.702x),
/// OpenAI's approximation its weights were trained with) or "gelu" (the exact erf GELU of OpenCLIP models).
public sealed class ClipMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2;
    private readonly bool quick;

    public ClipMlp(int width, int intermediate, string hiddenAct = "quick_gelu") : base(nameof(ClipMlp))
    {
        quick = hiddenAct switch
        {
            "quick_gelu" => true,
            "gelu" => false,
            _ => throw new ArgumentException($"ClipMlp: hidden_act '{hiddenAct}' is not supported (quick_gelu or gelu)")
        };
        fc1 = nn.Linear(width, intermediate); fc2 = nn.Linear(intermediate, width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = fc1.forward(x);
        h = quick ? h * sigmoid(1.702 * h) : nn.functional.gelu(h);
        return fc2.forward(h).MoveToOuterDisposeScope();
    }
}

/// Pre-LN transformer block (HF CLIPEncoderLayer).
public sealed class ClipEncoderLayer : nn.Module
{
    private readonly ClipAttention self_attn;
    private readonly LayerNorm layer_norm1, layer_norm2;
    private readonly ClipMlp mlp;

    public ClipEncoderLayer(int width, int intermediate, int heads, double eps, string hiddenAct = "quick_gelu") : base(nameof(ClipEncoderLayer))
    {
        self_attn = new ClipAttention(width, heads);
        layer_norm1 = nn.LayerNorm(width, eps);
        mlp = new ClipMlp(width, intermediate, hiddenAct);
        layer_norm2 = nn.LayerNorm(width, eps);
        RegisterComponents();
    }

    public Tensor forward(Tensor x, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        var h = x + self_attn.forward(layer_norm1.forward(x), mask);
        return (h + mlp.forward(layer_norm2.forward(h))).MoveToOuterDisposeScope();
    }
}

/// The layer stack (HF CLIPEncoder).
public sealed class ClipEncoder : nn.Module
{
    private readonly ModuleList<ClipEncoderLayer> layers;

    public ClipEncoder(int width, int intermediate, int numLayers, int heads, double eps, string hiddenAct = "quick_gelu") : base(nameof(ClipEncoder))
    {
        layers = nn.ModuleList(Enumerable.Range(0, numLayers).Select(_ => new ClipEncoderLayer(width, intermediate, heads, eps, hiddenAct)).ToArray());
        RegisterComponents();
    }

    public int Count => layers.Count;

    /// Returns HF-style hidden states: [input, layer 1 output, …, layer `upTo` output] (upTo defaults to all,
    /// so unused later layers are skipped when a caller only needs an earlier one).
    public List<Tensor> forward(Tensor x, Tensor? mask, int? upTo = null)
    {
        var states = new List<Tensor> { x };
        for (int i = 0; i < (upTo ?? layers.Count); i++) states.Add(layers[i].forward(states[^1], mask));
        return states;
    }
}
