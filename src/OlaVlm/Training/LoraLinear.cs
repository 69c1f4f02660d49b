using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Training;

/// A Linear with a LoRA adapter (PEFT's lora.Linear): y = W·x + b + scaling · B·A·dropout(x).
/// Parameter names: `weight` / `bias` are the wrapped layer's own Parameters under their own names, so the base
/// weights keep their checkpoint names (`q_proj.weight`); the adapter adds `lora_A.weight` [r, in] and
/// `lora_B.weight` [out, r], PEFT's names without its adapter name ("default"), which PEFT drops on saving too.
/// Initialised as PEFT: A kaiming-uniform(a = √5), B zero, so a fresh adapter leaves the layer's output unchanged.
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
    private Parameter weight;
    private Parameter? bias;
    private readonly Linear lora_A, lora_B;
    private readonly nn.Module<Tensor, Tensor> lora_dropout;

    public int Rank { get; }
    public double Scaling { get; }
    /// True while B·A is folded into `weight` (Merge): forward is then the plain linear map.
    public bool Merged { get; private set; }

    public LoraLinear(Linear baseLayer, LoraConfig config) : base(nameof(LoraLinear))
    {
        config.Validate();
        weight = baseLayer.weight ?? throw new ArgumentException("LoraLinear: the wrapped Linear has no weight");
        bias = baseLayer.bias;
        Rank = config.R;
        Scaling = config.Scaling;
        long outF = weight.shape[0], inF = weight.shape[1];
        var device = weight.device;
        lora_A = nn.Linear(inF, Rank, hasBias: false, device: device, dtype: weight.dtype);
        lora_B = nn.Linear(Rank, outF, hasBias: false, device: device, dtype: weight.dtype);
        using (no_grad())
        {
            nn.init.kaiming_uniform_(lora_A.weight!, a: Math.Sqrt(5));
            nn.init.zeros_(lora_B.weight!);
        }
        lora_dropout = config.Dropout > 0 ? nn.Dropout(config.Dropout) : nn.Identity();
        // The base weights stay as they are: only the adapter trains (PEFT freezes the base layer).
        weight.requires_grad = false;
        if (bias is not null) bias.requires_grad = false;
        RegisterComponents();
    }

    public long InFeatures => weight.shape[1];
    public long OutFeatures => weight.shape[0];
    public Parameter Weight => weight;
    public Parameter? Bias => bias;
    public Parameter LoraA => lora_A.weight!;
    public Parameter LoraB => lora_B.weight!;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.linear(x, weight, bias);
        if (!Merged)
        {
            // PEFT's order: dropout on the input of A, then B, then the scale.
            var delta = lora_B.forward(lora_A.forward(lora_dropout.forward(x)));
            y = y.add(delta, alpha: Scaling);
        }
        return y.MoveToOuterDisposeScope();
    }

    /// scaling · B·A [out, in] (PEFT's get_delta_weight with fan_in_fan_out false), computed in fp32.
    public Tensor DeltaWeight()
    {
        using var scope = NewDisposeScope();
        var b = lora_B.weight!.detach().to_type(ScalarType.Float32);
        var a = lora_A.weight!.detach().to_type(ScalarType.Float32);
        return b.matmul(a).mul_(Scaling).MoveToOuterDisposeScope();
    }

    /// W += scaling · B·A (PEFT's merge): forward is then one matmul, with the same output up to rounding.
    public void Merge()
    {
        if (Merged) return;
        AddDelta(+1);
        Merged = true;
    }

    /// W -= scaling · B·A, the inverse of Merge (exact up to floating-point rounding, as in PEFT).
    public void Unmerge()
    {
        if (!Merged) return;
        AddDelta(-1);
        Merged = false;
    }

    void AddDelta(int sign)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var w32 = weight.detach().to_type(ScalarType.Float32);
        var merged = sign > 0 ? w32.add(DeltaWeight()) : w32.sub(DeltaWeight());
        weight.copy_(merged.to_type(weight.dtype));
    }

    /// A plain Linear holding this layer's (possibly merged) weight and bias, for Lora.Unload.
    public Linear ToLinear()
    {
        var linear = nn.Linear(InFeatures, OutFeatures, hasBias: bias is not null, device: weight.device, dtype: weight.dtype);
        linear.weight = weight;
        if (bias is not null) linear.bias = bias;
        return linear;
    }
}
