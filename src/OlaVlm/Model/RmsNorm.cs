using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Root-mean-square LayerNorm (Llama): no mean subtraction, no bias. Computed in fp32 and cast back,
/// as Hugging Face does, so bf16 weights do not lose the normalisation's precision.
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    public RmsNorm(long dim, double eps = 1e-6) : base(nameof(RmsNorm))
    {
        this.eps = eps;
        weight = new Parameter(ones(dim));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var inType = x.dtype;
        var h = x.to(ScalarType.Float32);
        var variance = h.pow(2).mean([-1L], keepdim: true);
        h = h * rsqrt(variance + eps);
        return (weight * h.to(inType)).MoveToOuterDisposeScope();
    }
}
