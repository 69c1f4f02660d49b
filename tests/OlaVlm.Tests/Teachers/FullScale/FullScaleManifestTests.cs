using OlaVlm.Model;
using OlaVlm.Teachers.DepthAnything;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers.FullScale;

/// The real checkpoints' key names and shapes at full size, without their weights: the committed manifests list
/// what the reference code's full-size models hold (depth_anything_v2_{vits,vitb,vitl}.pth; SD-2.1-unCLIP's
/// image_encoder), and our modules, built on the meta device (shapes only, nothing allocated), must hold exactly those.
/// Serial: MetaLayout builds on the meta device through torch's process-wide default device.
[Collection(SerialCollection.Name)]
public class FullScaleManifestTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("vits")]
    [InlineData("vitb")]
    [InlineData("vitl")]
    public void DepthAnythingV2MatchesTheAuthorsCheckpointKeys(string encoder)
    {
        var manifest = MetaLayout.ReadManifest(TeacherFixtures.At($"manifest_dav2_{encoder}.json"));
        var ours = MetaLayout.Shapes(d => new DepthAnythingV2(DepthAnythingV2Config.FromName(encoder), d));
        MetaLayout.AssertSame(manifest, ours, $"depth_anything_v2_{encoder}.pth", output);
    }

    [Fact]
    public void UnClipImageEncoderMatchesTheReleasedKeys()
    {
        var manifest = MetaLayout.ReadManifest(TeacherFixtures.At("manifest_unclip_image_encoder.json"));
        var ours = MetaLayout.Shapes(d => new ClipVisionModelWithProjection(ClipVisionConfig.VitH14UnClip(), d));
        // Older transformers saved the position_ids buffer; HfNames drops it, so it never counts as unknown.
        Assert.Null(HfNames.FromHfClipVisionWithProjection("vision_model.embeddings.position_ids"));
        MetaLayout.AssertSame(manifest, ours, "stable-diffusion-2-1-unclip/image_encoder", output);
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
