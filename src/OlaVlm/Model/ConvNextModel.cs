using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// The ConvNeXt trunk as the encoder runs it (timm ConvNeXt: `stem` = PatchSize×PatchSize convolution with
/// stride PatchSize → LayerNorm2d, then `stages`). timm's `norm_pre` is the identity for these models
/// (head_norm_first False) and its pooling head (`head.norm`) is not on the encoder's path, so neither is built.
public sealed class ConvNextModel : nn.Module<Tensor, Tensor>
{
    private readonly Sequential stem, stages;
    public ConvNextConfig Config { get; }

    /// initialize: timm's initialisation (truncated normal σ 0.02 for convolution and linear weights, zero
    /// biases, norms at one, layer scale at LayerScaleInit); false when a checkpoint overwrites every value anyway.
    public ConvNextModel(ConvNextConfig c, Device? device = null, ScalarType? dtype = null, bool initialize = true) : base(nameof(ConvNextModel))
    {
        Config = c.Validate();
        stem = nn.Sequential(("0", nn.Conv2d(c.NumChannels, c.Dims[0], c.PatchSize, stride: c.PatchSize, device: device, dtype: dtype)),
            ("1", new LayerNorm2d(c.Dims[0], c.LayerNormEps, device, dtype)));
        stages = nn.Sequential(Enumerable.Range(0, c.NumStages)
            .Select(i => ((string, nn.Module<Tensor, Tensor>))(i.ToString(), new ConvNextStage(i, c, device, dtype))).ToArray());
        RegisterComponents();
        if (initialize) Initialize();
    }

    /// pixels [B, C, H, W] → the last stage's map [B, HiddenSize, H / Reduction, W / Reduction].
    public override Tensor forward(Tensor pixels) => StageOutputs(pixels)[^1];

    /// Every stage's output map, first to last (the reference's `image_features_stages`).
    public List<Tensor> StageOutputs(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var x = stem.forward(pixels);
        var outputs = new List<Tensor>();
        foreach (var stage in stages.children().Cast<nn.Module<Tensor, Tensor>>()) outputs.Add(x = stage.forward(x));
        foreach (var o in outputs) o.MoveToOuterDisposeScope();
        return outputs;
    }

    void Initialize()
    {
        using var _ = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith(".gamma")) p.fill_(Config.LayerScaleInit);
            else if (p.dim() > 1) nn.init.trunc_normal_(p, std: 0.02);
            else if (name.EndsWith(".bias")) p.zero_();
            else p.fill_(1.0);
        }
    }
}

/// The paper's second vision tower as LLaVA uses it (OLA-VLM's CLIPConvNextVisionTower): the OpenCLIP
/// ConvNeXt trunk, stem → stages → (identity norm_pre), its last stage's map flattened row-major into
/// [B, H/32 · W/32, HiddenSize] — 576 tokens of 3,072 for XXL at 768². No select layer: the reference always
/// returns the last stage (mm_vision_select_layer is read but unused for ConvNeXt).
/// Parameter names are the trunk's (`stem.0.weight`, `stages.2.blocks.5.conv_dw.weight`, `…gamma`), i.e. an
/// OpenCLIP checkpoint's `visual.trunk.*` (ConvNextPretrained.FromOpenClip) and, mounted in LlavaModel as
/// `vision_tower.*`, the reference LLaVA's `model.vision_tower.vision_tower.*` (HfNames.FromLlava).
public sealed class ClipConvNextVisionTower : nn.Module<Tensor, Tensor>, IVisionTower
{
    private readonly ConvNextModel trunk;
    public ConvNextConfig Config { get; }

    public ClipConvNextVisionTower(ConvNextConfig c, Device? device = null, ScalarType? dtype = null, bool initialize = true)
        : base(nameof(ClipConvNextVisionTower))
    {
        Config = c;
        device ??= Core.Devices.Default;
        trunk = new ConvNextModel(c, device, dtype, initialize);
        // The trunk's children are this module's, so names carry no `trunk.` prefix (the reference's vision_tower is the trunk).
        foreach (var (name, child) in trunk.named_children()) register_module(name, child);
    }

    public ConvNextModel Trunk => trunk;
    public int ImageSize => Config.ImageSize;
    public int HiddenSize => Config.HiddenSize;
    public int NumTokens => Config.NumPatches;

    /// pixels [B, C, H, W] (any H, W ≥ 32, as the reference) → [B, (H/32)·(W/32), HiddenSize] in the tower's dtype.
    public override Tensor forward(Tensor pixels)
    {
        if (pixels.dim() != 4 || pixels.shape[1] != Config.NumChannels || pixels.shape[2] < Config.Reduction || pixels.shape[3] < Config.Reduction)
            throw new Core.ShapeMismatchException($"ClipConvNextVisionTower: pixels {Core.Checked.Fmt(pixels.shape)}, expected [B, {Config.NumChannels}, H, W] with H, W ≥ {Config.Reduction}");
        using var scope = NewDisposeScope();
        var w = parameters().First();
        var x = pixels.to(w.dtype, w.device);
        // A bf16 scope (Core.Bf16Matmul) turns oneDNN on for matmuls, whose convolutions are wrong on some CPUs.
        var map = x.device_type == DeviceType.CPU && x.dtype == ScalarType.BFloat16
            ? Core.Bf16Matmul.WithoutOneDnn(() => trunk.forward(x))
            : trunk.forward(x);
        return map.flatten(2).transpose(1, 2).contiguous().MoveToOuterDisposeScope();
    }
}
