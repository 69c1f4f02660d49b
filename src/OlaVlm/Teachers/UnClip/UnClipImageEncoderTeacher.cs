using System.Security.Cryptography;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using OlaVlm.Core;
using OlaVlm.Model;
using static TorchSharp.torch;

namespace OlaVlm.Teachers.UnClip;

/// OLA-VLM's gen teacher at full scale: the image encoder of stabilityai/stable-diffusion-2-1-unclip (an HF
/// CLIPVisionModelWithProjection: OpenCLIP ViT-H/14 at 224², GELU, projection to 1024).
///
/// Target (base_ola_vlm.py `_get_gen_feats`): `pipe.feature_extractor(images=img)` (ClipImageProcessor) then
/// `pipe.image_encoder(pixels).image_embeds` = visual_projection(post_layernorm(class token)), one per image,
/// stacked → [B, 1, 1024]. Decode returns null: turning the embedding back into an image is unCLIP's diffusion
/// decoder, out of scope here.
public sealed class UnClipImageEncoderTeacher : ITeacher
{
    readonly ClipVisionModelWithProjection model;

    public UnClipImageEncoderTeacher(ClipVisionModelWithProjection model, ClipImageProcessor processor, string weightsHash)
    {
        this.model = model;
        Processor = processor;
        if (processor.CropHeight != model.Config.ImageSize || processor.CropWidth != model.Config.ImageSize)
            throw new ArgumentException($"UnClipImageEncoderTeacher: the feature extractor crops {processor.CropHeight}x{processor.CropWidth}, the encoder takes {model.Config.ImageSize}²");
        WeightsHash = weightsHash;
        Device = model.parameters().First().device;
        model.eval();
        foreach (var p in model.parameters()) p.requires_grad = false;
    }

    /// `dir`: the pipeline folder (with image_encoder/ and, optionally, feature_extractor/) or the image_encoder
    /// folder itself. The weights (model.safetensors, fp16 in the release, or pytorch_model.bin) are loaded strictly
    /// into `dtype` (default float32). Without a preprocessor_config.json the processor keeps CLIP's defaults.
    public static UnClipImageEncoderTeacher Load(string dir, Device? device = null, ScalarType? dtype = null)
    {
        string enc = Directory.Exists(Path.Combine(dir, "image_encoder")) ? Path.Combine(dir, "image_encoder") : dir;
        string fe = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(enc))!, "feature_extractor", "preprocessor_config.json");
        var processor = File.Exists(fe) ? ClipImageProcessor.FromJson(fe) : new ClipImageProcessor();
        int size = Pretrained.ReadClipVisionConfig(enc).ImageSize;   // checked before gigabytes of weights are read
        if (processor.CropHeight != size || processor.CropWidth != size)
            throw new InvalidDataException($"{(File.Exists(fe) ? fe : "the default CLIPImageProcessor")} crops {processor.CropHeight}x{processor.CropWidth}, " +
                                           $"but {Path.Combine(enc, "config.json")} has image_size {size}");
        var model = Pretrained.LoadClipVisionWithProjection(enc, device, dtype ?? ScalarType.Float32);
        var weights = new[] { "model.safetensors", "pytorch_model.bin" }.Select(f => Path.Combine(enc, f)).First(File.Exists);
        var hash = Hash(model.Config, processor, FileHash.Sha256(weights));
        return new UnClipImageEncoderTeacher(model, processor, hash);
    }

    public ClipVisionModelWithProjection Model => model;
    public ClipImageProcessor Processor { get; }
    public string Name => "unclip-vith14";
    public TeacherKind Kind => TeacherKind.Gen;
    public long[] TargetShape => [1, model.Config.Projection];
    public Device Device { get; }
    public string WeightsHash { get; }

    /// The pipeline's feature_extractor on RGB images → pixel_values [B, 3, 224, 224].
    public Tensor Preprocess(IReadOnlyList<Image<Rgb24>> images) => Processor.Preprocess(images, Device);

    /// pixel_values [B, 3, S, S] → image_embeds [B, 1, ProjectionDim] float32.
    public Tensor Encode(Tensor images)
    {
        int s = model.Config.ImageSize;
        Checked.Shape(images, [-1, 3, s, s], $"{Name}.Encode images");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return model.forward(images.to(Device)).unsqueeze(1).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    public Tensor? Decode(Tensor embedding) => null;

    /// Cache key: kind, encoder config, preprocessing and the weights file's SHA-256.
    public static string Hash(ClipVisionConfig c, ClipImageProcessor p, string weightsSha256) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
            $"gen|unclip|{c}|{p with { ImageMean = null, ImageStd = null }}|{string.Join(",", p.Mean)}|{string.Join(",", p.Std)}|{weightsSha256}"))).ToLowerInvariant();

    public void Dispose() => model.Dispose();
}
