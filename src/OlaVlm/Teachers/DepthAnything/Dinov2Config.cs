namespace OlaVlm.Teachers.DepthAnything;

/// DINOv2 ViT shape as Depth-Anything-V2 builds it (dinov2.py `DINOv2(model_name)`): patch 14, positions learned for
/// 518² (a 37 × 37 grid) and interpolated to other grids with a 0.1 offset, LayerScale (init 1.0), one class token,
/// no register tokens, LayerNorm eps 1e-6. FfnLayer: "mlp" (fc1 → GELU → fc2) or "swiglufused" (ViT-g: w12 → SiLU-gate
/// → w3, hidden rounded as SwiGLUFFNFused does).
public sealed record Dinov2Config(
    int EmbedDim,
    int Depth,
    int NumHeads,
    double MlpRatio = 4.0,
    int PatchSize = 14,
    int ImageSize = 518,
    string FfnLayer = "mlp",
    double InterpolateOffset = 0.1,
    double LayerNormEps = 1e-6)
{
    public int NativeGrid => ImageSize / PatchSize;

    /// Width of the FFN's hidden layer (Block: int(dim · mlp_ratio); SwiGLUFFNFused: (int(h · 2/3) + 7) // 8 · 8).
    public int FfnHidden => FfnLayer switch
    {
        "mlp" => (int)(EmbedDim * MlpRatio),
        "swiglufused" => ((int)((int)(EmbedDim * MlpRatio) * 2.0 / 3) + 7) / 8 * 8,
        _ => throw new ArgumentException($"Dinov2Config: ffn_layer '{FfnLayer}' is not supported (mlp or swiglufused)")
    };

    public static Dinov2Config Vits() => new(384, 12, 6);
    public static Dinov2Config Vitb() => new(768, 12, 12);
    public static Dinov2Config Vitl() => new(1024, 24, 16);
    public static Dinov2Config Vitg() => new(1536, 40, 24, FfnLayer: "swiglufused");
}

/// Depth-Anything-V2 = DINOv2 backbone (`pretrained.*`) + DPT head (`depth_head.*`). Presets are the authors'
/// model_configs (run.py) and intermediate_layer_idx (dpt.py); OLA-VLM uses vitl.
public sealed record DepthAnythingV2Config(string Encoder, Dinov2Config Backbone, int Features, int[] OutChannels, int[] IntermediateLayers)
{
    public static DepthAnythingV2Config Vits() => new("vits", Dinov2Config.Vits(), 64, [48, 96, 192, 384], [2, 5, 8, 11]);
    public static DepthAnythingV2Config Vitb() => new("vitb", Dinov2Config.Vitb(), 128, [96, 192, 384, 768], [2, 5, 8, 11]);
    public static DepthAnythingV2Config Vitl() => new("vitl", Dinov2Config.Vitl(), 256, [256, 512, 1024, 1024], [4, 11, 17, 23]);
    public static DepthAnythingV2Config Vitg() => new("vitg", Dinov2Config.Vitg(), 384, [1536, 1536, 1536, 1536], [9, 19, 29, 39]);

    /// The fixtures' random-weight miniature: real structure (layer scale, class token, positions learned for a 4 × 4
    /// grid and interpolated, four of five blocks read, the full DPT head) at widths a CPU runs in milliseconds.
    public static DepthAnythingV2Config Tiny() =>
        new("tiny", new Dinov2Config(24, 5, 2, ImageSize: 56), 8, [8, 12, 16, 16], [0, 2, 3, 4]);

    public static DepthAnythingV2Config FromName(string encoder) => encoder switch
    {
        "vits" => Vits(), "vitb" => Vitb(), "vitl" => Vitl(), "vitg" => Vitg(), "tiny" => Tiny(),
        _ => throw new ArgumentException($"DepthAnythingV2Config: unknown encoder '{encoder}' (vits, vitb, vitl, vitg)")
    };

    /// Checks what the modules cannot: four DPT inputs, block indices inside the backbone.
    public DepthAnythingV2Config Validated()
    {
        if (OutChannels.Length != 4 || IntermediateLayers.Length != 4)
            throw new ArgumentException($"DepthAnythingV2Config '{Encoder}': the DPT head takes exactly 4 feature maps (out_channels {OutChannels.Length}, layers {IntermediateLayers.Length})");
        if (IntermediateLayers.Any(i => i < 0 || i >= Backbone.Depth))
            throw new ArgumentException($"DepthAnythingV2Config '{Encoder}': blocks [{string.Join(", ", IntermediateLayers)}] must lie in 0..{Backbone.Depth - 1}");
        if (Backbone.EmbedDim % Backbone.NumHeads != 0)
            throw new ArgumentException($"DepthAnythingV2Config '{Encoder}': embed dim {Backbone.EmbedDim} is not divisible by {Backbone.NumHeads} heads");
        _ = Backbone.FfnHidden;
        return this;
    }
}
