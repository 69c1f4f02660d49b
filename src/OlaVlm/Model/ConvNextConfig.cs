namespace OlaVlm.Model;

/// Shape of an OpenCLIP ConvNeXt vision tower (timm's ConvNeXt as open_clip's TimmModel trunk) and the image
/// size LLaVA feeds it (OLA-VLM's clip_convnext_encoder.py: the `-resNNN` suffix of the tower name, 768 for
/// the paper's CLIP-ConvNeXt-XXL). Stage i has Depths[i] blocks of width Dims[i]; stage 0 keeps the stem's
/// resolution and every later stage halves it, so the last stage's map is ImageSize / Reduction per side.
/// The encoder returns that map flattened to tokens: NumPatches tokens of width HiddenSize (mm_hidden_size).
/// TimmModelName: the vision_cfg.timm_model_name an open_clip_config.json must name for this shape (null: no check).
public sealed record ConvNextConfig(
    IReadOnlyList<int> Depths,
    IReadOnlyList<int> Dims,
    int ImageSize,
    double LayerNormEps = 1e-6,
    int PatchSize = 4,
    int KernelSize = 7,
    int MlpRatio = 4,
    double LayerScaleInit = 1e-6,
    int NumChannels = 3,
    string? TimmModelName = null)
{
    public int NumStages => Dims.Count;

    /// The feature width LLaVA's projector reads (the last stage's; the reference's non-multi-stage tower).
    public int HiddenSize => Dims[^1];

    /// Input pixels per output token along a side: the stem's patch, then ×2 per later stage (32 for 4 stages).
    public int Reduction => PatchSize << (NumStages - 1);

    public int PatchesPerSide => ImageSize / Reduction;
    public int NumPatches => PatchesPerSide * PatchesPerSide;

    /// laion/CLIP-convnext_xxlarge-laion2B-s34B-b82K-augreg-soup as OLA-VLM runs it (`-res768`): timm's
    /// convnext_xxlarge (LayerNorm eps 1e-5, unlike the other ConvNeXts' 1e-6) at 768², 24 × 24 = 576 tokens of 3,072.
    public static ConvNextConfig XXLarge(int imageSize = 768) =>
        new([3, 4, 30, 3], [384, 768, 1536, 3072], imageSize, LayerNormEps: 1e-5, TimmModelName: "convnext_xxlarge");

    /// The same structure at miniature widths (the fixture's; environment/fixtures/encoder_convnext.py):
    /// 128² → 4 × 4 = 16 tokens of 48.
    public static ConvNextConfig Miniature(int imageSize = 128) =>
        new([1, 1, 2, 1], [16, 32, 32, 48], imageSize, LayerNormEps: 1e-5);

    /// Throws naming `source` and the offending value when the shape cannot be built.
    public ConvNextConfig Validate(string source = nameof(ConvNextConfig))
    {
        void Fail(string what) => throw new ArgumentException($"{source}: {what}");
        if (Dims.Count == 0 || Depths.Count != Dims.Count) Fail($"{Depths.Count} depths for {Dims.Count} stage widths");
        if (Dims.Any(d => d <= 0) || Depths.Any(d => d <= 0)) Fail($"stage widths [{string.Join(", ", Dims)}] and depths [{string.Join(", ", Depths)}] must be positive");
        if (PatchSize <= 0 || KernelSize <= 0 || KernelSize % 2 == 0) Fail($"patch {PatchSize} / kernel {KernelSize} (the kernel must be odd to keep the size)");
        if (MlpRatio <= 0 || NumChannels <= 0 || LayerNormEps <= 0) Fail($"mlp ratio {MlpRatio}, channels {NumChannels}, eps {LayerNormEps}");
        if (ImageSize < Reduction || ImageSize % Reduction != 0) Fail($"image size {ImageSize} is not a positive multiple of the reduction {Reduction}");
        return this;
    }
}
