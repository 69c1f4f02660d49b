namespace OlaVlm.Model;

/// CLIP vision tower shape (HF CLIPVisionConfig). The default select layer −2 is LLaVA's
/// mm_vision_select_layer: the penultimate layer's patch features. Act: "quick_gelu" (OpenAI's CLIPs, the default) or
/// "gelu" (OpenCLIP conversions such as SD-2.1-unCLIP's ViT-H/14); Projection: the width of visual_projection in
/// CLIPVisionModelWithProjection (default 512). Both are stored only when set, so the configs written before they
/// existed (the shipped foundations' among them) read and hash as they did.
public sealed record ClipVisionConfig(
    int HiddenSize,
    int IntermediateSize,
    int NumLayers,
    int NumHeads,
    int ImageSize,
    int PatchSize,
    int NumChannels = 3,
    double LayerNormEps = 1e-5,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    string? HiddenAct = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    int? ProjectionDim = null)
{
    [System.Text.Json.Serialization.JsonIgnore] public string Act => HiddenAct ?? "quick_gelu";
    [System.Text.Json.Serialization.JsonIgnore] public int Projection => ProjectionDim ?? 512;

    /// The same config with the defaults stored as unset, so a config read from a file equals the preset it matches.
    public ClipVisionConfig Normalized() =>
        this with { HiddenAct = Act == "quick_gelu" ? null : Act, ProjectionDim = Projection == 512 ? null : Projection };
    public int NumPatches => (ImageSize / PatchSize) * (ImageSize / PatchSize);

    /// Index into the NumLayers + 1 hidden states (embeddings first) of a select layer (negative counts from the end).
    public int HiddenStateIndex(int selectLayer)
    {
        int count = NumLayers + 1, index = selectLayer < 0 ? count + selectLayer : selectLayer;
        if (index < 0 || index >= count)
            throw new ArgumentOutOfRangeException(nameof(selectLayer), $"select layer {selectLayer} outside the {count} hidden states");
        return index;
    }

    /// 64×64 images, 8×8 patches → 64 image tokens; trains on a CPU.
    public static ClipVisionConfig Miniature() => new(64, 256, 4, 4, ImageSize: 64, PatchSize: 8);

    /// openai/clip-vit-large-patch14-336: 24 layers, width 1024, 576 patch tokens, a 768-wide projection.
    public static ClipVisionConfig VitL14_336() => new(1024, 4096, 24, 16, ImageSize: 336, PatchSize: 14, ProjectionDim: 768);

    /// stabilityai/stable-diffusion-2-1-unclip image_encoder/config.json: OpenCLIP ViT-H/14 at 224², 257 tokens.
    public static ClipVisionConfig VitH14UnClip() => new(1280, 5120, 32, 16, ImageSize: 224, PatchSize: 14, HiddenAct: "gelu", ProjectionDim: 1024);
}

/// CLIP text tower shape (HF CLIPTextConfig). Pooling takes the hidden state of each row's last real token
/// (the EOS token for CLIP's own tokenizer).
public sealed record ClipTextConfig(
    int VocabSize,
    int HiddenSize,
    int IntermediateSize,
    int NumLayers,
    int NumHeads,
    int MaxPositionEmbeddings = 77,
    double LayerNormEps = 1e-5)
{
    public static ClipTextConfig Miniature(int vocabSize) => new(vocabSize, 64, 256, 2, 4, MaxPositionEmbeddings: 64);
    public static ClipTextConfig VitL14() => new(49408, 768, 3072, 12, 12);
}

/// A full CLIP (HF CLIPConfig): both towers and the shared embedding width.
/// LogitScaleInit = ln(1 / 0.07), CLIP's initial temperature.
public sealed record ClipConfig(ClipTextConfig Text, ClipVisionConfig Vision, int ProjectionDim, double LogitScaleInit = 2.6592)
{
    public static ClipConfig Miniature(int vocabSize) => new(ClipTextConfig.Miniature(vocabSize), ClipVisionConfig.Miniature(), 64);
}
