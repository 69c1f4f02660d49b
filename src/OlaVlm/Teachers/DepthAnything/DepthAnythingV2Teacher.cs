using System.Security.Cryptography;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using OlaVlm.Core;
using static TorchSharp.torch;

namespace OlaVlm.Teachers.DepthAnything;

/// OLA-VLM's depth teacher at full scale: Depth-Anything-V2 (ViT-L by default) from the authors' checkpoint.
///
/// Target (base_ola_vlm.py `_get_dav2_feats`): the image resized to 336² (Dav2Preprocessing), `infer_image(img,
/// is_dsg=True)` → the four intermediate blocks' normed patch tokens, summed and divided by four: [576, 1024] for
/// ViT-L. Decode (`_get_dav2_feats` for the targets, `depth_emb_forward` for predictions): the checkpoint's DPT head
/// fed that ONE map as all four of its inputs (`da_v2_head([(feat, None)] * 4)`), ReLU, min-max normalised per image
/// → [B, 336, 336] in [0, 1]. DepthMap gives the authors' own depth (the head on the four distinct blocks).
public sealed class DepthAnythingV2Teacher : ITeacher
{
    readonly DepthAnythingV2 model;

    public DepthAnythingV2Teacher(DepthAnythingV2 model, string weightsHash, int imageSize = 336)
    {
        if (imageSize % model.Config.Backbone.PatchSize != 0)
            throw new ArgumentException($"DepthAnythingV2Teacher: image size {imageSize} is not a multiple of the patch size {model.Config.Backbone.PatchSize}");
        this.model = model;
        ImageSize = imageSize;
        Grid = imageSize / model.Config.Backbone.PatchSize;
        WeightsHash = weightsHash;
        Device = model.parameters().First().device;
        model.eval();
        foreach (var p in model.parameters()) p.requires_grad = false;
    }

    /// Loads `depth_anything_v2_{encoder}.pth` strictly (DepthAnythingV2.Load) onto `device`.
    public static DepthAnythingV2Teacher Load(string checkpoint, DepthAnythingV2Config? config = null, Device? device = null, int imageSize = 336)
    {
        config ??= DepthAnythingV2Config.Vitl();
        var model = DepthAnythingV2.Load(checkpoint, config, device);
        return new DepthAnythingV2Teacher(model, Hash(config, imageSize, FileHash.Sha256(checkpoint)), imageSize);
    }

    public DepthAnythingV2 Model => model;
    public int ImageSize { get; }
    /// Patch grid side: 24 at 336² with patch 14.
    public int Grid { get; }
    public string Name => $"dav2-{model.Config.Encoder}";
    public TeacherKind Kind => TeacherKind.Depth;
    public long[] TargetShape => [Grid * Grid, model.Config.Backbone.EmbedDim];
    public Device Device { get; }
    public string WeightsHash { get; }

    /// The reference's pixels for PIL-style images (Dav2Preprocessing, red/blue swapped as the reference does).
    public Tensor Preprocess(IReadOnlyList<Image<Rgb24>> images) => Dav2Preprocessing.FromImages(images, ImageSize, device: Device);

    /// images [B, 3, S, S] (Preprocess's output) → target [B, Grid², D]: the mean of the four blocks' patch tokens.
    public Tensor Encode(Tensor images)
    {
        Checked.Shape(images, [-1, 3, ImageSize, ImageSize], $"{Name}.Encode images");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var feats = model.Features(images.to(Device));
        var sum = feats[0].Patches;
        for (int i = 1; i < feats.Count; i++) sum = sum + feats[i].Patches;   // (f0 + f1 + f2 + f3) / 4, in that order
        return (sum / feats.Count).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// embedding [B, Grid², D] (a target or a prediction) → depth picture [B, S, S], min-max normalised per image.
    /// A constant map (max = min) decodes to zeros, where the reference divides 0 by 0.
    public Tensor? Decode(Tensor embedding)
    {
        Checked.Shape(embedding, [-1, Grid * Grid, model.Config.Backbone.EmbedDim], $"{Name}.Decode embedding");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var e = embedding.to(Device).to(model.parameters().First().dtype);
        var depth = nn.functional.relu(model.Head.Forward([e, e, e, e], Grid, Grid)).squeeze(1).to(ScalarType.Float32);
        return MinMax(depth).MoveToOuterDisposeScope();
    }

    /// The authors' relative depth for preprocessed images [B, 3, S, S] → [B, S, S] (not normalised).
    public Tensor DepthMap(Tensor images)
    {
        using var _ = no_grad();
        return model.forward(images.to(Device));
    }

    /// (d − min) / (max − min) over each image's H × W, as `_get_dav2_feats` and `depth_emb_forward` normalise.
    public static Tensor MinMax(Tensor depth)
    {
        var min = depth.amin([1, 2], keepdim: true);
        var range = depth.amax([1, 2], keepdim: true) - min;
        return where(range > 0, (depth - min) / range, zeros_like(depth));
    }

    /// Cache key: kind, encoder, image size and the checkpoint's SHA-256.
    public static string Hash(DepthAnythingV2Config c, int imageSize, string checkpointSha256) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
            $"depth|dav2|{c.Encoder}|{c.Backbone}|{c.Features}|{string.Join(",", c.OutChannels)}|{string.Join(",", c.IntermediateLayers)}|{imageSize}|{checkpointSha256}"))).ToLowerInvariant();

    public void Dispose() => model.Dispose();
}
