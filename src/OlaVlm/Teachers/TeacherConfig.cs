using System.Text.Json;
using System.Text.Json.Serialization;

namespace OlaVlm.Teachers;

/// Sizes of a mini teacher. One record per kind; `Miniature` presets give 16 target tokens (a 4×4 grid
/// over a 64×64 image) with the widths of OlaConfig.Miniature, so targets plug straight into the
/// predictors. The full-scale shapes (DAv2 576×1024, OneFormer 576×1536, unCLIP 1×1024) come from
/// real checkpoints, not from these records.
public abstract record TeacherConfig
{
    public abstract TeacherKind Kind { get; }
    public int ImageSize { get; init; } = 64;
    /// Seeds the weight initialisation (and so is part of the checkpoint key).
    public int Seed { get; init; } = 0;
    /// Name used in file names; defaults to "<kind>-mini".
    public string? Name { get; init; }

    public string DisplayName => Name ?? Kind.ToString().ToLowerInvariant() + "-mini";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };

    public string ToJson() => JsonSerializer.Serialize(this, GetType(), Json);

    public static TeacherConfig FromJson(TeacherKind kind, string json) => (kind switch
    {
        TeacherKind.Depth => (TeacherConfig?)JsonSerializer.Deserialize<DepthTeacherConfig>(json, Json),
        TeacherKind.Seg => JsonSerializer.Deserialize<SegTeacherConfig>(json, Json),
        TeacherKind.Gen => JsonSerializer.Deserialize<GenTeacherConfig>(json, Json),
        _ => null,
    }) ?? throw new InvalidDataException($"cannot read a {kind} teacher config from JSON: {json}");
}

/// ViT encoder (DINOv2-style blocks) + dense depth head. Target = mean of `TargetBlocks` outputs, as
/// OLA-VLM averages DAv2's DINOv2 blocks [4, 11, 17, 23] of 24 (here 0-based indices of `Depth` blocks).
public sealed record DepthTeacherConfig : TeacherConfig
{
    public override TeacherKind Kind => TeacherKind.Depth;
    public int PatchSize { get; init; } = 16;
    public int Dim { get; init; } = 32;
    public int Depth { get; init; } = 4;
    public int Heads { get; init; } = 2;
    public int MlpRatio { get; init; } = 4;
    public int[] TargetBlocks { get; init; } = [0, 1, 2, 3];
    /// Channels of the upsampling head's first stage (halved, not below 8, at each ×2).
    public int HeadChannels { get; init; } = 32;
    /// The head starts out predicting this depth everywhere (a typical scene depth, in world units).
    public float InitialDepth { get; init; } = 10f;

    public static DepthTeacherConfig Miniature => new();
    /// Smaller still, for unit tests.
    public static DepthTeacherConfig Tiny => new() { ImageSize = 32, PatchSize = 8, Dim = 16, Depth = 4, Heads = 2, HeadChannels = 8 };
}

/// Conv pyramid (Swin-like stem + stages that halve the resolution) + segmentation head.
/// Target = last stage's feature map flattened to tokens, as OLA-VLM takes OneFormer's last stage.
public sealed record SegTeacherConfig : TeacherConfig
{
    public override TeacherKind Kind => TeacherKind.Seg;
    /// Classes: 0 = sky, 1 = floor, 2..K-1 = shape classes.
    public int NumClasses { get; init; } = 8;
    /// Channels of the stride-4 stem, then of each stage that halves H and W; the last is the target dim.
    public int[] StageChannels { get; init; } = [24, 32, 48];
    public int HeadChannels { get; init; } = 32;

    public static SegTeacherConfig Miniature => new();
    public static SegTeacherConfig Tiny => new() { ImageSize = 32, NumClasses = 4, StageChannels = [8, 16], HeadChannels = 8 };
}

/// Conv pyramid → ONE global embedding → decoder that renders the image again (the role of
/// SD-2.1-unCLIP's image embedding, which conditions a generator).
public sealed record GenTeacherConfig : TeacherConfig
{
    public override TeacherKind Kind => TeacherKind.Gen;
    public int[] StageChannels { get; init; } = [24, 32, 64];
    public int EmbedDim { get; init; } = 32;
    public int HeadChannels { get; init; } = 48;

    public static GenTeacherConfig Miniature => new();
    public static GenTeacherConfig Tiny => new() { ImageSize = 32, StageChannels = [8, 16], EmbedDim = 16, HeadChannels = 16 };
}
