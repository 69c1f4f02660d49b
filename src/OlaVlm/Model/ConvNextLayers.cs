using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// LayerNorm over the channels of an NCHW map (timm LayerNorm2d): permute to NHWC, normalise, permute back.
/// Parameters `weight`, `bias` as nn.LayerNorm's, so checkpoints name them the same.
public sealed class LayerNorm2d : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight, bias;
    private readonly double eps;

    public LayerNorm2d(int channels, double eps, Device? device = null, ScalarType? dtype = null) : base(nameof(LayerNorm2d))
    {
        this.eps = eps;
        weight = new Parameter(ones(channels, dtype: dtype, device: device));
        bias = new Parameter(zeros(channels, dtype: dtype, device: device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.layer_norm(x.permute(0, 2, 3, 1), [weight.shape[0]], weight, bias, eps);
        return y.permute(0, 3, 1, 2).MoveToOuterDisposeScope();
    }
}

/// The block's MLP on channels-last features (timm Mlp: fc1 → exact GELU → fc2; dropout 0 at inference).
public sealed class ConvNextMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2;

    public ConvNextMlp(int dim, int hidden, Device? device = null, ScalarType? dtype = null) : base(nameof(ConvNextMlp))
    {
        fc1 = nn.Linear(dim, hidden, device: device, dtype: dtype);
        fc2 = nn.Linear(hidden, dim, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return fc2.forward(nn.functional.gelu(fc1.forward(x))).MoveToOuterDisposeScope();
    }
}

/// One ConvNeXt block (timm ConvNeXtBlock, conv_mlp False as every OpenCLIP ConvNeXt):
/// x + gamma · mlp(norm(conv_dw(x))), conv_dw a k×k depthwise convolution that keeps the size, norm a
/// LayerNorm over channels (channels last), gamma the layer scale. Stochastic depth is a training-time
/// regulariser of the CLIP pre-training and is not part of this inference tower.
public sealed class ConvNextBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv_dw;
    private readonly LayerNorm norm;
    private readonly ConvNextMlp mlp;
    private readonly Parameter gamma;

    public ConvNextBlock(int dim, ConvNextConfig c, Device? device = null, ScalarType? dtype = null) : base(nameof(ConvNextBlock))
    {
        conv_dw = nn.Conv2d(dim, dim, c.KernelSize, padding: c.KernelSize / 2, groups: dim, device: device, dtype: dtype);
        norm = nn.LayerNorm(dim, c.LayerNormEps, device: device, dtype: dtype);
        mlp = new ConvNextMlp(dim, c.MlpRatio * dim, device, dtype);
        gamma = new Parameter(full(dim, c.LayerScaleInit, dtype: dtype, device: device));
        RegisterComponents();
    }

    /// [B, C, H, W] → [B, C, H, W].
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = norm.forward(conv_dw.forward(x).permute(0, 2, 3, 1));
        // The layer scale multiplies per channel, so channels last (here) or first (timm) gives the same numbers.
        y = (mlp.forward(y) * gamma).permute(0, 3, 1, 2);
        return (x + y).MoveToOuterDisposeScope();
    }
}

/// One stage (timm ConvNeXtStage): `downsample` (LayerNorm2d → 2×2 convolution with stride 2, widening to the
/// stage's width) unless it is the first stage, then `blocks`. Names: `downsample.0/1.*`, `blocks.{i}.*`.
public sealed class ConvNextStage : nn.Module<Tensor, Tensor>
{
    private readonly Sequential? downsample;
    private readonly Sequential blocks;

    public ConvNextStage(int index, ConvNextConfig c, Device? device = null, ScalarType? dtype = null) : base(nameof(ConvNextStage))
    {
        int dim = c.Dims[index];
        if (index > 0)
            downsample = nn.Sequential(("0", new LayerNorm2d(c.Dims[index - 1], c.LayerNormEps, device, dtype)),
                ("1", nn.Conv2d(c.Dims[index - 1], dim, 2, stride: 2, device: device, dtype: dtype)));
        blocks = nn.Sequential(Enumerable.Range(0, c.Depths[index])
            .Select(i => ((string, nn.Module<Tensor, Tensor>))(i.ToString(), new ConvNextBlock(dim, c, device, dtype))).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = downsample is null ? x : downsample.forward(x);
        return blocks.forward(y).MoveToOuterDisposeScope();
    }
}
