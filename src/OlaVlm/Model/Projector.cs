using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// LLaVA-1.5's `mlp2x_gelu` multimodal projector: Linear(vision width → LLM width) → GELU → Linear.
/// Built as a Sequential so parameters are named `0.weight` / `2.weight`, i.e. `mm_projector.0.weight`
/// once mounted (index 1 is the parameter-free GELU), exactly as in LLaVA checkpoints.
public sealed class Projector : nn.Module<Tensor, Tensor>
{
    private readonly Sequential layers;

    public Projector(int visionWidth, int llmWidth, string type = "mlp2x_gelu") : base(nameof(Projector))
    {
        if (type != "mlp2x_gelu") throw new NotSupportedException($"Projector type '{type}' (only mlp2x_gelu)");
        layers = nn.Sequential(("0", nn.Linear(visionWidth, llmWidth)), ("1", nn.GELU()), ("2", nn.Linear(llmWidth, llmWidth)));
        // Flatten the Sequential's children into this module so names carry no extra prefix.
        foreach (var (name, child) in layers.named_children()) register_module(name, child);
    }

    /// [.., visionWidth] → [.., llmWidth].
    public override Tensor forward(Tensor x) => layers.forward(x);
}
