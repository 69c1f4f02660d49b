using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// SwiGLU feed-forward: down(silu(gate(x)) * up(x)).
public sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    // Module rather than Linear, and not readonly: Training.Lora can put a LoRA adapter in a projection's place.
    private nn.Module<Tensor, Tensor> gate_proj, up_proj, down_proj;

    public LlamaMlp(LlamaConfig c) : base(nameof(LlamaMlp))
    {
        gate_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        up_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        down_proj = nn.Linear(c.IntermediateSize, c.HiddenSize, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var g = gate_proj.forward(x);
        using var a = nn.functional.silu(g);
        using var u = up_proj.forward(x);
        using var h = a * u;
        return down_proj.forward(h);
    }
}
