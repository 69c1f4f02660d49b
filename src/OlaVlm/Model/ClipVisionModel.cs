using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Patch embedding + class token + learned positions (HF CLIPVisionEmbeddings).
public sealed class ClipVisionEmbeddings : nn.Module<Tensor, Tensor>
{
    private readonly Parameter class_embedding;
    private readonly Conv2d patch_embedding;
    private readonly Embedding position_embedding;

    public ClipVisionEmbeddings(ClipVisionConfig c) : base(nameof(ClipVisionEmbeddings))
    {
        class_embedding = new Parameter(randn(c.HiddenSize) * 0.02);
        patch_embedding = nn.Conv2d(c.NumChannels, c.HiddenSize, c.PatchSize, stride: c.PatchSize, bias: false);
        position_embedding = nn.Embedding(c.NumPatches + 1, c.HiddenSize);
        RegisterComponents();
    }

    /// pixels [B, C, S, S] → [B, 1 + numPatches, width].
    public override Tensor forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var patches = PatchEmbed(pixels.to(class_embedding.dtype));
        long b = patches.shape[0];
        var cls = class_embedding.view(1, 1, -1).expand(b, 1, -1);
        var x = cat([cls, patches], 1);
        var expected = position_embedding.weight!.shape[0];
        if (x.shape[1] != expected)
            throw new Core.ShapeMismatchException($"ClipVisionEmbeddings: image gives {x.shape[1] - 1} patches, positions cover {expected - 1} (pixels {Core.Checked.Fmt(pixels.shape)})");
        return (x + position_embedding.weight!.unsqueeze(0)).MoveToOuterDisposeScope();
    }

    /// patch_embedding's convolution as a matrix product (PatchEmbedding.AsMatmul says why).
    Tensor PatchEmbed(Tensor pixels) => PatchEmbedding.AsMatmul(pixels, patch_embedding.weight!, null, nameof(ClipVisionEmbeddings));
}

/// The vision transformer body (HF CLIPVisionTransformer). HF spells the pre-encoder norm `pre_layrnorm`.
public sealed class ClipVisionTransformer : nn.Module
{
    private readonly ClipVisionEmbeddings embeddings;
    private readonly LayerNorm pre_layrnorm, post_layernorm;
    private readonly ClipEncoder encoder;
    public ClipVisionConfig Config { get; }

    public ClipVisionTransformer(ClipVisionConfig c) : base(nameof(ClipVisionTransformer))
    {
        Config = c;
        embeddings = new ClipVisionEmbeddings(c);
        pre_layrnorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
        encoder = new ClipEncoder(c.HiddenSize, c.IntermediateSize, c.NumLayers, c.NumHeads, c.LayerNormEps, c.Act);
        post_layernorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
        RegisterComponents();
    }

    /// Hidden states as HF output_hidden_states: [pre-LN embeddings, layer 1, …, layer `upTo`].
    public List<Tensor> HiddenStates(Tensor pixels, int? upTo = null) =>
        encoder.forward(pre_layrnorm.forward(embeddings.forward(pixels)), null, upTo);

    /// Class-token summary (HF pooler_output): post_layernorm(last layer's class token) [B, width].
    public Tensor Pooled(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        return Pool(HiddenStates(pixels)[^1]).MoveToOuterDisposeScope();
    }

    /// The class-token summary of a last hidden state [B, 1 + patches, width] (what Pooled returns).
    public Tensor Pool(Tensor lastHidden) => post_layernorm.forward(lastHidden[.., 0, ..]);
}

/// CLIP vision tower as LLaVA uses it (HF CLIPVisionModel: parameters under `vision_model.`).
public sealed class ClipVisionModel : nn.Module<Tensor, Tensor>, IVisionTower
{
    private readonly ClipVisionTransformer vision_model;
    public ClipVisionConfig Config { get; }

    /// LLaVA's mm_vision_select_layer: index into hidden states (negative counts from the end).
    public int SelectLayer { get; set; } = -2;

    public ClipVisionModel(ClipVisionConfig c, Device? device = null) : base(nameof(ClipVisionModel))
    {
        Config = c;
        vision_model = new ClipVisionTransformer(c);
        RegisterComponents();
        this.to(device ?? Core.Devices.Default);
    }

    public ClipVisionTransformer VisionModel => vision_model;
    public int ImageSize => Config.ImageSize;
    public int HiddenSize => Config.HiddenSize;
    public int NumTokens => Config.NumPatches;

    /// pixels [B, C, S, S] → patch features of SelectLayer, class token dropped: [B, numPatches, width].
    public override Tensor forward(Tensor pixels) => Features(pixels, SelectLayer);

    public Tensor Features(Tensor pixels, int selectLayer)
    {
        int index = Config.HiddenStateIndex(selectLayer);
        using var scope = NewDisposeScope();
        var states = vision_model.HiddenStates(pixels, upTo: index);   // layers after `index` are never run
        return states[index][.., 1.., ..].MoveToOuterDisposeScope();
    }
}
