using OlaVlm.Model;
using OlaVlm.Teachers.DepthAnything;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers.FullScale;

/// The real checkpoints' key names and shapes at full size, without their weights: the committed manifests list
/// what the reference code's full-size models hold (depth_anything_v2_{vits,vitb,vitl}.pth; SD-2.1-unCLIP's
/// image_encoder), and our modules, built on the meta device (shapes only, nothing allocated), must hold exactly those.
/// Serial: the meta device is set as torch's process-wide default device while a module is built.
[Collection(SerialCollection.Name)]
public class FullScaleManifestTests(ITestOutputHelper output)
{
    static Dictionary<string, long[]> ShapesOnMeta(Func<Device, nn.Module> build)
    {
        var meta = new Device(DeviceType.META);
        set_default_device(meta);
        try
        {
            using var module = build(meta);
            return module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        }
        finally { set_default_device(CPU); }
    }

    void AssertSameKeys(Dictionary<string, long[]> manifest, Dictionary<string, long[]> ours, string what)
    {
        var missing = manifest.Keys.Except(ours.Keys).ToList();
        var extra = ours.Keys.Except(manifest.Keys).ToList();
        var shapes = manifest.Keys.Intersect(ours.Keys).Where(k => !manifest[k].SequenceEqual(ours[k]))
            .Select(k => $"{k}: checkpoint {Core.Checked.Fmt(manifest[k])}, ours {Core.Checked.Fmt(ours[k])}").ToList();
        output.WriteLine($"{what}: {manifest.Count} checkpoint keys, {ours.Count} module keys, {missing.Count} missing, {extra.Count} extra, {shapes.Count} shape mismatches; " +
                         $"{manifest.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)):N0} parameters");
        Assert.True(missing.Count == 0, $"{what}: not in our module: {string.Join(", ", missing.Take(10))}");
        Assert.True(extra.Count == 0, $"{what}: not in the checkpoint: {string.Join(", ", extra.Take(10))}");
        Assert.True(shapes.Count == 0, $"{what}: {string.Join("; ", shapes.Take(10))}");
    }

    [Theory]
    [InlineData("vits")]
    [InlineData("vitb")]
    [InlineData("vitl")]
    public void DepthAnythingV2MatchesTheAuthorsCheckpointKeys(string encoder)
    {
        var manifest = TeacherFixtures.Manifest($"manifest_dav2_{encoder}.json");
        var ours = ShapesOnMeta(d => new DepthAnythingV2(DepthAnythingV2Config.FromName(encoder), d));
        AssertSameKeys(manifest, ours, $"depth_anything_v2_{encoder}.pth");
    }

    [Fact]
    public void UnClipImageEncoderMatchesTheReleasedKeys()
    {
        var manifest = TeacherFixtures.Manifest("manifest_unclip_image_encoder.json");
        var ours = ShapesOnMeta(d => new ClipVisionModelWithProjection(ClipVisionConfig.VitH14UnClip(), d));
        // Older transformers saved the position_ids buffer; HfNames drops it, so it never counts as unknown.
        Assert.Null(HfNames.FromHfClipVisionWithProjection("vision_model.embeddings.position_ids"));
        AssertSameKeys(manifest, ours, "stable-diffusion-2-1-unclip/image_encoder");
    }

    /// The release's image_encoder/config.json (values as published) reads into the ViT-H/14 preset.
    [Fact]
    public void UnClipConfigJsonReadsAsTheVitH14Preset()
    {
        var dir = TeacherFixtures.TempDir("unclip-config");
        File.WriteAllText(Path.Combine(dir, "config.json"), """
            {"architectures": ["CLIPVisionModelWithProjection"], "attention_dropout": 0.0, "dropout": 0.0,
             "hidden_act": "gelu", "hidden_size": 1280, "image_size": 224, "initializer_factor": 1.0,
             "initializer_range": 0.02, "intermediate_size": 5120, "layer_norm_eps": 1e-05, "model_type": "clip_vision_model",
             "num_attention_heads": 16, "num_channels": 3, "num_hidden_layers": 32, "patch_size": 14,
             "projection_dim": 1024, "torch_dtype": "float16"}
            """);
        Assert.Equal(ClipVisionConfig.VitH14UnClip(), Pretrained.ReadClipVisionConfig(dir));
    }
}
