using OlaVlm.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Ola;

/// The Perceiver block's feed-forward: LayerNorm → Linear(dim, dim·mult) → GELU → Linear(back), no biases.
/// Built as a Sequential so parameter names match the reference (layers.i.1.0 / .1 / .3).
public static class FeedForward
{
    public static Sequential Create(int dim, int mult, Device? device = null)
    {
        device ??= Devices.Default;
        int inner = dim * mult;
        return nn.Sequential(
            nn.LayerNorm(dim, device: device),
            nn.Linear(dim, inner, hasBias: false, device: device),
            nn.GELU(),
            nn.Linear(inner, dim, hasBias: false, device: device));
    }
}
