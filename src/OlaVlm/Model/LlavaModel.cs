using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// LLaVA-1.5 = CLIP vision tower → mlp2x_gelu projector → Llama decoder.
/// ImageTokenId is the tokenizer's `<image>` placeholder id; it never reaches the embedding table.
/// ProjectorHidden: the projector's hidden width; null = the LLM width, as LLaVA-1.5 and its checkpoints.
/// ConvNext: set (via WithConvNext) for the OpenCLIP ConvNeXt tower instead of CLIP; null = CLIP ViT.
public sealed record LlavaConfig(ClipVisionConfig Vision, LlamaConfig Text, long ImageTokenId, int VisionSelectLayer = -2,
    string ProjectorType = "mlp2x_gelu", int? ProjectorHidden = null, ConvNextConfig? ConvNext = null)
{
    /// The projector's input width: the tower's feature width.
    public int MmHiddenSize => ConvNext?.HiddenSize ?? Vision.HiddenSize;

    /// LLaVA with the OpenCLIP ConvNeXt tower (the paper's CNX-XXL rows). Vision then describes that tower in
    /// CLIP's terms — its image size, its reduction as the patch size, its feature width — so code that reads
    /// Vision.ImageSize, NumPatches or HiddenSize gets the ConvNeXt's; its layer and head counts are 0.
    public static LlavaConfig WithConvNext(ConvNextConfig tower, LlamaConfig text, long imageTokenId, string projectorType = "mlp2x_gelu",
        int? projectorHidden = null) =>
        new(new ClipVisionConfig(tower.HiddenSize, 0, 0, 0, tower.ImageSize, tower.Reduction, tower.NumChannels), text, imageTokenId,
            ProjectorType: projectorType, ProjectorHidden: projectorHidden, ConvNext: tower);

    /// OLA-VLM's CLIP-ConvNeXt-XXL (768², 576 tokens of 3,072) with Llama-3-8B.
    public static LlavaConfig ConvNextXxlLlama3_8B(long imageTokenId = -200) =>
        WithConvNext(ConvNextConfig.XXLarge(), LlamaConfig.Llama3_8B(), imageTokenId);

    public static LlavaConfig Miniature(int vocabSize, long imageTokenId) =>
        new(ClipVisionConfig.Miniature(), LlamaConfig.Miniature(vocabSize), imageTokenId);

    public static LlavaConfig Llava15Llama3_8B(long imageTokenId = -200) =>
        new(ClipVisionConfig.VitL14_336(), LlamaConfig.Llama3_8B(), imageTokenId);

    /// The paper's other language model: Phi-3-mini-4k-instruct behind the same CLIP tower.
    public static LlavaConfig Llava15Phi3Mini(long imageTokenId = -200) =>
        new(ClipVisionConfig.VitL14_336(), Phi3Config.Mini4k(), imageTokenId);
}

/// Result of LlavaModel.forward(pixels, samples): the assembled batch (spans), decoder output, NTP loss.
public sealed record LlavaForward(MultimodalBatch Batch, LlamaOutput Output, Tensor Loss) : IDisposable
{
    public void Dispose() { Batch.Dispose(); Output.Dispose(); Loss.Dispose(); }
}

/// Parameter names: `vision_tower.vision_model.*`, `mm_projector.{0,2}.*`, `language_model.model.*`,
/// `language_model.lm_head.*` (the llava-hf layout). HfNames maps original LLaVA checkpoint names onto these.
public sealed class LlavaModel : nn.Module
{
    private readonly nn.Module<Tensor, Tensor> vision_tower;
    private readonly Projector mm_projector;
    private readonly LlamaForCausalLM language_model;
    public LlavaConfig Config { get; }

    /// LLaVA never back-propagates into CLIP; set true only for experiments that unfreeze it.
    public bool TrainVisionTower { get; set; }

    public LlavaModel(LlavaConfig c, Device? device = null, ScalarType? dtype = null) : base(nameof(LlavaModel))
    {
        Config = c;
        device ??= Core.Devices.Default;
        if (c.ConvNext is { } cnx && (c.Vision.ImageSize != cnx.ImageSize || c.Vision.NumPatches != cnx.NumPatches || c.Vision.HiddenSize != cnx.HiddenSize))
            throw new ArgumentException($"LlavaConfig: Vision (image {c.Vision.ImageSize}, {c.Vision.NumPatches} tokens of {c.Vision.HiddenSize}) does not describe the ConvNeXt tower " +
                $"(image {cnx.ImageSize}, {cnx.NumPatches} tokens of {cnx.HiddenSize}); build the config with LlavaConfig.WithConvNext");
        vision_tower = c.ConvNext is null
            ? new ClipVisionModel(c.Vision, device) { SelectLayer = c.VisionSelectLayer }
            : new ClipConvNextVisionTower(c.ConvNext, device);
        mm_projector = new Projector(c.MmHiddenSize, c.Text.HiddenSize, c.ProjectorType, c.ProjectorHidden);
        language_model = new LlamaForCausalLM(c.Text, device);
        RegisterComponents();
        this.to(device);
        if (dtype is ScalarType dt) this.to(dt);
    }

    /// The CLIP tower (for code that reads CLIP's layers); a ConvNeXt LLaVA has none: use Tower.
    public ClipVisionModel VisionTower => vision_tower as ClipVisionModel
        ?? throw new InvalidOperationException("LlavaModel.VisionTower: this LLaVA's vision tower is OpenCLIP ConvNeXt, not CLIP; use Tower");
    /// The vision tower, whichever it is.
    public IVisionTower Tower => (IVisionTower)vision_tower;
    public Projector MmProjector => mm_projector;
    public LlamaForCausalLM LanguageModel => language_model;

    /// pixels [N, 3, S, S] → projected patch features [N, numPatches, llmHidden].
    public Tensor EncodeImages(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        Tensor feats;
        using (TrainVisionTower ? null : no_grad()) feats = vision_tower.forward(pixels);
        var dtype = language_model.Model.EmbedTokens.weight!.dtype;
        return mm_projector.forward(feats.to(mm_projector.parameters().First().dtype)).to(dtype).MoveToOuterDisposeScope();
    }

    /// Assembles a batch: one image per sample that has a placeholder (pixels rows in sample order),
    /// optional task tokens [numTaskTokens, hidden] after each image.
    public MultimodalBatch Prepare(IReadOnlyList<MultimodalSample> samples, Tensor? pixels, Tensor? taskTokens = null,
        PaddingSide padding = PaddingSide.Right)
    {
        using var scope = NewDisposeScope();
        var feats = pixels is null ? null : EncodeImages(pixels);
        var batch = MultimodalCollator.Assemble(language_model, samples, feats, Config.ImageTokenId, taskTokens, padding);
        foreach (var t in new[] { batch.InputsEmbeds, batch.AttentionMask, batch.Labels, batch.PositionIds }) t.MoveToOuterDisposeScope();
        return batch;
    }

    public LlamaOutput forward(MultimodalBatch batch, bool outputHiddenStates = false) =>
        language_model.forward(inputsEmbeds: batch.InputsEmbeds, attentionMask: batch.AttentionMask,
            positionIds: batch.PositionIds, outputHiddenStates: outputHiddenStates);

    /// Images + samples in one call: assembles the batch (task tokens after each image, if given), runs the
    /// decoder (every layer's hidden states on request) and computes the next-token loss. Dispose the result.
    public LlavaForward forward(Tensor? pixels, IReadOnlyList<MultimodalSample> samples, Tensor? taskTokens = null,
        bool outputHiddenStates = false)
    {
        var batch = Prepare(samples, pixels, taskTokens);
        var output = forward(batch, outputHiddenStates);
        return new LlavaForward(batch, output, LlamaForCausalLM.CausalLmLoss(output.Logits, batch.Labels));
    }

    /// Next-token loss on the batch's supervised (answer) tokens.
    public Tensor Loss(MultimodalBatch batch)
    {
        using var output = forward(batch);
        return LlamaForCausalLM.CausalLmLoss(output.Logits, batch.Labels);
    }

    /// Answers prompts (ids with an optional `<image>` placeholder; pixels one row per placeholder).
    /// A bf16 model answers inside a Bf16Matmul scope (without it, bf16 products take ATen's slow kernels).
    public long[][] Generate(IReadOnlyList<long[]> prompts, Tensor? pixels, GenerationOptions options, Tensor? taskTokens = null) =>
        Core.Bf16Matmul.Run(language_model.Model.EmbedTokens.weight!.dtype, () => GenerateCore(prompts, pixels, options, taskTokens));

    long[][] GenerateCore(IReadOnlyList<long[]> prompts, Tensor? pixels, GenerationOptions options, Tensor? taskTokens)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var batch = Prepare(prompts.Select(MultimodalSample.Prompt).ToList(), pixels, taskTokens, PaddingSide.Left);
        return Generation.Generate(language_model, null, batch.InputsEmbeds, batch.AttentionMask, options);
    }
}
