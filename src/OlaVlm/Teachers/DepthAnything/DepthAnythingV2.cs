using TorchSharp;
using OlaVlm.Model;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace OlaVlm.Teachers.DepthAnything;

/// Depth-Anything-V2 (dpt.py DepthAnythingV2): the DINOv2 backbone `pretrained` and the DPT head `depth_head`, the
/// module layout of the authors' checkpoints (depth_anything_v2_{vits,vitb,vitl,vitg}.pth).
public sealed class DepthAnythingV2 : Module<Tensor, Tensor>
{
    readonly Dinov2 pretrained;
    readonly DptHead depth_head;
    public DepthAnythingV2Config Config { get; }

    public DepthAnythingV2(DepthAnythingV2Config config, Device? device = null) : base(nameof(DepthAnythingV2))
    {
        Config = config.Validated();
        pretrained = new Dinov2(config.Backbone);
        depth_head = new DptHead(config.Backbone.EmbedDim, config.Features, config.OutChannels);
        RegisterComponents();
        this.to(device ?? Core.Devices.Default);
    }

    public Dinov2 Backbone => pretrained;
    public DptHead Head => depth_head;

    /// The four intermediate blocks (Config.IntermediateLayers), normed: (patch tokens [B, gh·gw, D], class token [B, D])
    /// — OLA-VLM's vendored forward, which returns these instead of a depth map.
    public List<(Tensor Patches, Tensor Cls)> Features(Tensor pixels) => pretrained.IntermediateLayers(pixels, Config.IntermediateLayers);

    /// The authors' forward: relu(DPT head(four blocks)) → relative depth [B, 14·gh, 14·gw] (gh = H / 14).
    public override Tensor forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var feats = Features(pixels);
        long ph = pixels.shape[^2] / Config.Backbone.PatchSize, pw = pixels.shape[^1] / Config.Backbone.PatchSize;
        var depth = functional.relu(depth_head.Forward(feats.Select(f => f.Patches).ToList(), ph, pw));
        return depth.squeeze(1).MoveToOuterDisposeScope();
    }

    /// Loads an authors' checkpoint (a torch.save'd state dict with pretrained.* and depth_head.* keys) strictly:
    /// a missing or unknown key or a wrong shape throws one CheckpointMismatchException naming the file, every key and
    /// both shapes; a truncated file throws an InvalidDataException naming it. Weights are converted to `dtype`.
    public static DepthAnythingV2 Load(string path, DepthAnythingV2Config config, Device? device = null, ScalarType? dtype = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Depth-Anything-V2: no checkpoint '{path}'", path);
        var model = Pretrained.WithDefaultDtype(dtype, () => new DepthAnythingV2(config, device));
        try { Checkpoint.Load(model, path); }
        catch { model.Dispose(); throw; }
        model.eval();
        return model;
    }
}
