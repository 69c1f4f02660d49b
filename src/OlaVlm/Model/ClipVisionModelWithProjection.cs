using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// A CLIP vision tower with its projection into the shared embedding space (HF CLIPVisionModelWithProjection:
/// vision_model.*, visual_projection.weight). SD-2.1-unCLIP conditions on its `image_embeds`, which OLA-VLM's gen
/// predictor distils.
public sealed class ClipVisionModelWithProjection : nn.Module<Tensor, Tensor>
{
    private readonly ClipVisionTransformer vision_model;
    private readonly Linear visual_projection;
    public ClipVisionConfig Config { get; }

    public ClipVisionModelWithProjection(ClipVisionConfig c, Device? device = null) : base(nameof(ClipVisionModelWithProjection))
    {
        Config = c;
        vision_model = new ClipVisionTransformer(c);
        visual_projection = nn.Linear(c.HiddenSize, c.Projection, hasBias: false);
        RegisterComponents();
        this.to(device ?? Core.Devices.Default);
    }

    public ClipVisionTransformer VisionModel => vision_model;

    /// pixels [B, C, S, S] → image_embeds = visual_projection(post_layernorm(last layer's class token)) [B, ProjectionDim].
    /// Not L2-normalised: HF returns, and unCLIP consumes, the raw projection.
    public override Tensor forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        return visual_projection.forward(vision_model.Pooled(pixels)).MoveToOuterDisposeScope();
    }
}
