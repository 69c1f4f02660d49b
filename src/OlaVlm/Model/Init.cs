using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Weight initialisation following HF's _init_weights: normal(0, std) for linear/embedding weights,
/// zero biases, norms at one.
public static class Init
{
    public static void LlamaWeights(nn.Module m, double std)
    {
        using var _ = no_grad();
        foreach (var (name, p) in m.named_parameters())
        {
            if (name.EndsWith("norm.weight") || name.EndsWith("layernorm.weight")) continue;
            if (name.EndsWith(".bias")) p.zero_();
            else p.normal_(0, std);
        }
    }
}
