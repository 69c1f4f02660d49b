using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace OlaVlm.Teachers.DepthAnything;

/// DPT's refinement stage (util/blocks.py FeatureFusionBlock, bn=False, expand=False, align_corners=True): adds the
/// lateral map (through resConfUnit1) to the coarser path, refines (resConfUnit2), upsamples bilinearly to `size`
/// (×2 when none is given) and mixes channels with a 1×1 out_conv.
public sealed class FeatureFusionBlock : Module<Tensor, Tensor>
{
    readonly Conv2d out_conv;
    readonly ResidualConvUnit resConfUnit1, resConfUnit2;

    public FeatureFusionBlock(int features) : base(nameof(FeatureFusionBlock))
    {
        out_conv = Conv2d(features, features, 1);
        resConfUnit1 = new ResidualConvUnit(features);
        resConfUnit2 = new ResidualConvUnit(features);
        RegisterComponents();
    }

    public override Tensor forward(Tensor path) => Fuse(path, null, null);

    /// path [B, F, h, w]; lateral [B, F, h, w] or null (the coarsest stage has none); size: output (H, W) or null for ×2.
    public Tensor Fuse(Tensor path, Tensor? lateral, long[]? size)
    {
        using var scope = NewDisposeScope();
        var output = lateral is null ? path : path + resConfUnit1.forward(lateral);
        output = resConfUnit2.forward(output);
        // align_corners=True maps corners to corners whatever the scale, so ×2 is the same as naming the doubled size.
        size ??= [output.shape[2] * 2, output.shape[3] * 2];
        output = functional.interpolate(output, size: size, mode: InterpolationMode.Bilinear, align_corners: true);
        return out_conv.forward(output).MoveToOuterDisposeScope();
    }
}

/// x + conv2(relu(conv1(relu(x)))), 3×3 convolutions with bias (ResidualConvUnit, bn=False).
public sealed class ResidualConvUnit : Module<Tensor, Tensor>
{
    readonly Conv2d conv1, conv2;

    public ResidualConvUnit(int features) : base(nameof(ResidualConvUnit))
    {
        conv1 = Conv2d(features, features, 3, padding: 1);
        conv2 = Conv2d(features, features, 3, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = conv2.forward(functional.relu(conv1.forward(functional.relu(x))));
        return (h + x).MoveToOuterDisposeScope();
    }
}
