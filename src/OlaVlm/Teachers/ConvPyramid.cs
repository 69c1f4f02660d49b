using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace OlaVlm.Teachers;

/// Hierarchical conv backbone, shaped like Swin / ConvNeXt in OneFormer: a 4×4 stride-4 patchify stem
/// to StageChannels[0], then one stage per further entry that halves H and W (stride-2 conv, then a
/// residual 3×3 conv). Returns the last stage [B, C_last, H/D, W/D] with D = Downsample.
/// GroupNorm rather than BatchNorm so train and eval behave the same (small batches, frozen teacher).
public sealed class ConvPyramid : Module<Tensor, Tensor>
{
    readonly Conv2d stem;
    readonly GroupNorm stem_norm;
    readonly ModuleList<ConvStage> stages;

    public ConvPyramid(int[] stageChannels) : base(nameof(ConvPyramid))
    {
        if (stageChannels.Length == 0) throw new ArgumentException("ConvPyramid needs at least one stage");
        stem = Conv2d(3, stageChannels[0], 4, stride: 4);
        stem_norm = GroupNorm(ConvStage.Groups(stageChannels[0]), stageChannels[0]);
        stages = new ModuleList<ConvStage>(stageChannels[..^1].Zip(stageChannels[1..], (i, o) => new ConvStage(i, o)).ToArray());
        RegisterComponents();
    }

    /// Input size / output grid size.
    public int Downsample => 4 << stages.Count;

    public override Tensor forward(Tensor x)
    {
        x = stem_norm.forward(stem.forward(x));
        foreach (var s in stages) x = s.forward(x);
        return x;
    }
}

sealed class ConvStage : Module<Tensor, Tensor>
{
    readonly Conv2d down, conv;
    readonly GroupNorm norm1, norm2;
    public ConvStage(int inCh, int outCh) : base(nameof(ConvStage))
    {
        down = Conv2d(inCh, outCh, 3, stride: 2, padding: 1);
        norm1 = GroupNorm(Groups(outCh), outCh);
        conv = Conv2d(outCh, outCh, 3, padding: 1);
        norm2 = GroupNorm(Groups(outCh), outCh);
        RegisterComponents();
    }
    internal static int Groups(int ch) => ch % 8 == 0 ? 8 : ch % 4 == 0 ? 4 : 1;
    public override Tensor forward(Tensor x)
    {
        x = functional.gelu(norm1.forward(down.forward(x)));
        return x + functional.gelu(norm2.forward(conv.forward(x)));
    }
}
