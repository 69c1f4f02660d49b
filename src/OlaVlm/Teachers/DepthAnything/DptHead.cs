using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace OlaVlm.Teachers.DepthAnything;

/// Depth-Anything-V2's DPT head (dpt.py DPTHead, use_bn=False, use_clstoken=False): four token maps → a
/// reassembled pyramid (1×1 projections, then ×4 and ×2 transposed convolutions, identity, a stride-2 convolution),
/// 3×3 `layerN_rn` convolutions to `features` channels, four fusion stages coarse to fine, and an output head that
/// upsamples to the image size (patch grid × 14) and regresses one channel through two ReLUs.
public sealed class DptHead : Module<Tensor, Tensor>
{
    /// The reference multiplies the patch grid by 14 (DINOv2's patch size) to get the output size.
    public const int PatchSize = 14;

    readonly ModuleList<Conv2d> projects;
    readonly ModuleList<Module<Tensor, Tensor>> resize_layers;
    readonly DptScratch scratch;

    public DptHead(int inChannels, int features, int[] outChannels) : base(nameof(DptHead))
    {
        projects = new ModuleList<Conv2d>(outChannels.Select(c => Conv2d(inChannels, c, 1)).ToArray());
        resize_layers = new ModuleList<Module<Tensor, Tensor>>(
            ConvTranspose2d(outChannels[0], outChannels[0], 4, stride: 4),
            ConvTranspose2d(outChannels[1], outChannels[1], 2, stride: 2),
            Identity(),
            Conv2d(outChannels[3], outChannels[3], 3, stride: 2, padding: 1));
        scratch = new DptScratch(outChannels, features);
        RegisterComponents();
    }

    public override Tensor forward(Tensor tokens) =>
        throw new NotSupportedException("DptHead needs the patch grid: call Forward(features, patchH, patchW)");

    /// features: four token maps [B, patchH·patchW, C] (class tokens dropped) → depth [B, 1, 14·patchH, 14·patchW].
    public Tensor Forward(IReadOnlyList<Tensor> features, long patchH, long patchW)
    {
        if (features.Count != 4)
            throw new ArgumentException($"DptHead: expected 4 feature maps, got {features.Count}");
        using var scope = NewDisposeScope();
        var layers = new Tensor[4];
        for (int i = 0; i < 4; i++)
        {
            var x = features[i];
            if (x.dim() != 3 || x.shape[1] != patchH * patchW)
                throw new Core.ShapeMismatchException($"DptHead: feature {i} is {Core.Checked.Fmt(x.shape)}, expected [B, {patchH * patchW}, C] for a {patchH}x{patchW} patch grid");
            x = x.permute(0, 2, 1).reshape(x.shape[0], x.shape[2], patchH, patchW);
            layers[i] = resize_layers[i].forward(projects[i].forward(x));
        }
        return scratch.Forward(layers, patchH * PatchSize, patchW * PatchSize).MoveToOuterDisposeScope();
    }
}

/// The head's `scratch` namespace: layerN_rn, refinenetN, output_conv1, output_conv2 (names as in the checkpoint).
sealed class DptScratch : Module<Tensor, Tensor>
{
    readonly Conv2d layer1_rn, layer2_rn, layer3_rn, layer4_rn, output_conv1;
    readonly FeatureFusionBlock refinenet1, refinenet2, refinenet3, refinenet4;
    readonly Sequential output_conv2;

    public DptScratch(int[] outChannels, int features) : base(nameof(DptScratch))
    {
        Conv2d Rn(int c) => Conv2d(c, features, 3, padding: 1, bias: false);
        layer1_rn = Rn(outChannels[0]); layer2_rn = Rn(outChannels[1]); layer3_rn = Rn(outChannels[2]); layer4_rn = Rn(outChannels[3]);
        refinenet1 = new FeatureFusionBlock(features); refinenet2 = new FeatureFusionBlock(features);
        refinenet3 = new FeatureFusionBlock(features); refinenet4 = new FeatureFusionBlock(features);
        output_conv1 = Conv2d(features, features / 2, 3, padding: 1);
        output_conv2 = Sequential(Conv2d(features / 2, 32, 3, padding: 1), ReLU(), Conv2d(32, 1, 1), ReLU(), Identity());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("DptScratch: call Forward(layers, height, width)");

    public Tensor Forward(Tensor[] layers, long height, long width)
    {
        using var scope = NewDisposeScope();
        var l1 = layer1_rn.forward(layers[0]); var l2 = layer2_rn.forward(layers[1]);
        var l3 = layer3_rn.forward(layers[2]); var l4 = layer4_rn.forward(layers[3]);
        var path4 = refinenet4.Fuse(l4, null, [l3.shape[2], l3.shape[3]]);
        var path3 = refinenet3.Fuse(path4, l3, [l2.shape[2], l2.shape[3]]);
        var path2 = refinenet2.Fuse(path3, l2, [l1.shape[2], l1.shape[3]]);
        var path1 = refinenet1.Fuse(path2, l1, null);
        var out1 = functional.interpolate(output_conv1.forward(path1), size: [height, width], mode: InterpolationMode.Bilinear, align_corners: true);
        return output_conv2.forward(out1).MoveToOuterDisposeScope();
    }
}
