using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Both CLIP towers with their projections into a shared embedding space and the learned temperature
/// (HF CLIPModel names: text_model.*, vision_model.*, visual_projection, text_projection, logit_scale).
/// Used to pre-train a miniature CLIP whose vision tower then feeds LLaVA.
public sealed class ClipModel : nn.Module
{
    private readonly ClipTextTransformer text_model;
    private readonly ClipVisionTransformer vision_model;
    private readonly Linear visual_projection, text_projection;
    private readonly Parameter logit_scale;
    public ClipConfig Config { get; }

    public ClipModel(ClipConfig c, Device? device = null) : base(nameof(ClipModel))
    {
        Config = c;
        text_model = new ClipTextTransformer(c.Text);
        vision_model = new ClipVisionTransformer(c.Vision);
        visual_projection = nn.Linear(c.Vision.HiddenSize, c.ProjectionDim, hasBias: false);
        text_projection = nn.Linear(c.Text.HiddenSize, c.ProjectionDim, hasBias: false);
        logit_scale = new Parameter(tensor((float)c.LogitScaleInit));
        RegisterComponents();
        this.to(device ?? Core.Devices.Default);
    }

    public ClipVisionTransformer VisionModel => vision_model;
    public Parameter LogitScale => logit_scale;

    /// L2-normalised image embeddings [B, projectionDim].
    public Tensor ImageEmbeds(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        return nn.functional.normalize(visual_projection.forward(vision_model.Pooled(pixels)), dim: -1).MoveToOuterDisposeScope();
    }

    /// Image embeddings as ImageEmbeds gives them, and from the same forward pass the patch features of hidden
    /// state `selectLayer` (class token dropped, [B, patches, width]): what LLaVA's tower reads at that layer.
    public (Tensor Embeds, Tensor Patches) ImageEmbedsAndPatches(Tensor pixels, int selectLayer = -2)
    {
        int index = Config.Vision.HiddenStateIndex(selectLayer);
        using var scope = NewDisposeScope();
        var states = vision_model.HiddenStates(pixels);
        var embeds = nn.functional.normalize(visual_projection.forward(vision_model.Pool(states[^1])), dim: -1);
        return (embeds.MoveToOuterDisposeScope(), states[index][.., 1.., ..].MoveToOuterDisposeScope());
    }

    /// L2-normalised text embeddings [B, projectionDim].
    public Tensor TextEmbeds(Tensor ids, Tensor? mask = null)
    {
        using var scope = NewDisposeScope();
        var (_, pooled) = text_model.forward(ids, mask);
        return nn.functional.normalize(text_projection.forward(pooled), dim: -1).MoveToOuterDisposeScope();
    }

    /// Symmetric contrastive loss for a batch of matching (image, text) pairs, optionally with hard-negative
    /// captions (ids + mask) that every image must also rank below its own (ClipLoss).
    public Tensor Loss(Tensor pixels, Tensor ids, Tensor? mask = null, (Tensor Ids, Tensor Mask)? negatives = null) =>
        LossFromEmbeds(ImageEmbeds(pixels), ids, mask, negatives);

    /// The contrastive loss for image embeddings already computed (ImageEmbedsAndPatches).
    public Tensor LossFromEmbeds(Tensor imageEmbeds, Tensor ids, Tensor? mask, (Tensor Ids, Tensor Mask)? negatives)
    {
        using var scope = NewDisposeScope();
        var neg = negatives is { } n ? TextEmbeds(n.Ids, n.Mask) : null;
        return ClipLoss.Compute(imageEmbeds, TextEmbeds(ids, mask), logit_scale, neg).MoveToOuterDisposeScope();
    }
}
