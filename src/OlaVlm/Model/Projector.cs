using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// LLaVA-1.5's `mlp2x_gelu` multimodal projector: Linear(vision width → hidden) → GELU → Linear(hidden → LLM width).
/// LLaVA's hidden is the LLM width (null here); `hidden` widens it (LlavaConfig.ProjectorHidden: LLaVA-1.5 widens
/// CLIP's 1,024 to 4,096, ×4, while its rule gives the miniature, CLIP 64 and LLM 128, only ×2).
/// Built as a Sequential so parameters are named `0.weight` / `2.weight`, i.e. `mm_projector.0.weight`
/// once mounted (index 1 is the parameter-free GELU), exactly as in LLaVA checkpoints.
public sealed class Projector : nn.Module<Tensor, Tensor>
{
    private readonly Sequential layers;

    public Projector(int visionWidth, int llmWidth, string type = "mlp2x_gelu", int? hidden = null) : base(nameof(Projector))
    {
        if (type != "mlp2x_gelu") throw new NotSupportedException($"Projector type '{type}' (only mlp2x_gelu)");
        if (hidden is <= 0) throw new ArgumentOutOfRangeException(nameof(hidden), hidden, "Projector: the hidden width must be positive");
        int h = hidden ?? llmWidth;
        layers = nn.Sequential(("0", nn.Linear(visionWidth, h)), ("1", nn.GELU()), ("2", nn.Linear(h, llmWidth)));
        // Flatten the Sequential's children into this module so names carry no extra prefix.
        foreach (var (name, child) in layers.named_children()) register_module(name, child);
    }

    /// [.., visionWidth] → [.., llmWidth].
    public override Tensor forward(Tensor x) => layers.forward(x);
}
