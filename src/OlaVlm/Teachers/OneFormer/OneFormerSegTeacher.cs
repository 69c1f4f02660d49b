using System.Security.Cryptography;
using System.Text.Json.Nodes;
using OlaVlm.Core;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Teachers.OneFormer;

/// OLA-VLM's full-scale segmentation teacher: the Swin backbone of OneFormer (shi-labs/oneformer_coco_swin_large),
/// whose LAST reported stage, bilinearly resized to 24×24, is the seg target (`_get_seg_targets` →
/// `OneFormerHead.forward_features` → `return_features`): 1536×24×24 for Swin-L.
///
/// Layout: the reference's target is [B, C, 24, 24]; here it is [B, 576, C] with token t = row·24 + column and the
/// channel as dim (flatten(2).transpose(1, 2)). The reference's seg predictor emits (B, 576, C) and reshapes it to
/// (B, C, 24, 24) by permute(0, 2, 1) — the same token ↔ (row, column) order — so predictor output and this target
/// line up element for element without any reshape.
///
/// Encode takes the processor's pixel_values (OneFormerPreprocess; any H, W — Swin pads); EncodeImages does both.
/// Decode is null: OneFormer's pixel and transformer decoders are out of scope (OneFormerCheckpoint skips them).
public sealed class OneFormerSegTeacher : ITeacher
{
    public SwinBackbone Backbone { get; }
    public OneFormerPreprocess Preprocess { get; }
    public int Grid { get; }
    public string Name { get; }
    public TeacherKind Kind => TeacherKind.Seg;
    public Device Device { get; }
    public long[] TargetShape => [Grid * Grid, Backbone.Config.Channels(Backbone.Config.Outputs[^1])];

    public OneFormerSegTeacher(SwinBackbone backbone, OneFormerPreprocess preprocess, int grid = 24, string? name = null, Device? device = null)
    {
        if (grid < 1) throw new ArgumentException($"OneFormerSegTeacher: grid {grid} < 1");
        Backbone = backbone;
        Preprocess = preprocess;
        Grid = grid;
        Name = name ?? (backbone.Config.EmbedDim == 192 ? "oneformer-swin-l" : $"oneformer-swin-e{backbone.Config.EmbedDim}");
        Device = device ?? Devices.Default;
        Backbone.to(Device);
        Backbone.eval();
        foreach (var p in Backbone.parameters()) p.requires_grad = false;
    }

    /// Loads an HF OneFormer directory: config.json (its backbone_config), preprocessor_config.json when present
    /// (else the processor's defaults), and the backbone weights (OneFormerCheckpoint's prefix rule).
    /// dtype: the backbone's compute dtype (default float32; the reference runs it in the LLM's dtype, bf16).
    public static OneFormerSegTeacher FromPretrained(string dir, Device? device = null, ScalarType? dtype = null, int grid = 24, string? name = null)
    {
        var configPath = Path.Combine(dir, "config.json");
        var root = Model.Pretrained.ReadConfig(dir);
        var swinJson = root["backbone_config"] ?? throw new InvalidDataException($"{configPath}: no backbone_config (not a OneFormer config)");
        var config = SwinConfig.FromHfJson(swinJson, configPath);
        var processorPath = Path.Combine(dir, "preprocessor_config.json");
        var processor = File.Exists(processorPath) ? OneFormerProcessorConfig.FromJson(processorPath) : new OneFormerProcessorConfig();
        var backbone = new SwinBackbone(config, CPU, initialize: false);
        try
        {
            OneFormerCheckpoint.Load(backbone, dir);
            if (dtype is ScalarType dt) backbone.to(dt);
        }
        catch { backbone.Dispose(); throw; }
        return new OneFormerSegTeacher(backbone, new OneFormerPreprocess(processor), grid, name, device);
    }

    /// pixel_values [B, 3, H, W] → target [B, Grid², C] float32 on Device.
    public Tensor Encode(Tensor images)
    {
        Checked.Shape(images, [-1, Backbone.Config.NumChannels, -1, -1], $"{Name}.Encode images");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var dtype = Backbone.parameters().First().dtype;
        var last = Backbone.forward(images.to(Device).to(dtype), lastOnly: true)[^1];
        var grid = nn.functional.interpolate(last.to(float32), [Grid, Grid], mode: InterpolationMode.Bilinear, align_corners: false);
        return grid.flatten(2).transpose(1, 2).contiguous().MoveToOuterDisposeScope();
    }

    /// Decoded images (any size) → targets, through the reference's preprocessing.
    public Tensor EncodeImages(IReadOnlyList<Image<Rgb24>> images)
    {
        using var pixels = Preprocess.PixelValues(images, Device);
        return Encode(pixels);
    }

    public Tensor? Decode(Tensor embedding) => null;

    public string WeightsHash => _hash ??= ComputeHash();
    string? _hash;

    /// SHA-256 of what determines the targets: kind, backbone config, preprocessing, grid and every tensor.
    string ComputeHash()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var p = Preprocess.Processor;
        var about = new JsonObject
        {
            ["kind"] = Kind.ToString(), ["backbone"] = Backbone.Config.ToHfJson(), ["grid"] = Grid, ["square"] = Preprocess.SquareSize,
            ["processor"] = $"{p.DoResize} {p.ShortestEdge} {p.LongestEdge} {p.FixedSize} {p.Resample} {p.DoRescale} {p.RescaleFactor:R} " +
                            $"{p.DoNormalize} {string.Join(",", p.ImageMean.Select(v => v.ToString("R")))} {string.Join(",", p.ImageStd.Select(v => v.ToString("R")))}",
        };
        sha.AppendData(System.Text.Encoding.UTF8.GetBytes(about.ToJsonString() + "\n"));
        foreach (var (name, t) in Backbone.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{name}:{Checked.Fmt(t.shape)}:{t.dtype};"));
            using var c = t.detach().cpu().contiguous();
            sha.AppendData(c.bytes);
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    public void Dispose() => Backbone.Dispose();
}
