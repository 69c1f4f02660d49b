using System.Text.Json.Nodes;
using OlaVlm.Core;
using OlaVlm.Model;
using OlaVlm.Text;
using TorchSharp.PyBridge;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Model;

/// The OpenCLIP ConvNeXt tower against the reference (fixtures from environment/fixtures/encoder_convnext.py:
/// timm v1.0.8, open_clip v2.26.1, OLA-VLM 6032a6c), the XXL release's names and shapes, and LLaVA with it.
/// Serial: MetaLayout builds on the meta device through torch's process-wide default device.
[Collection(SerialCollection.Name)]
public class ConvNextTests(ITestOutputHelper output)
{
    internal static string Fixture(string name) => TestFiles.Fixture("Encoders", "convnext", name);

    /// The miniature's shape as the fixture built it (timm convnext_xxlarge's code at widths 16–48).
    static ConvNextConfig Mini => ConvNextConfig.Miniature();

    [Fact]
    public void MatchesTheReferenceEncoderOnTheMiniature()
    {
        using var scope = NewDisposeScope();
        using var tower = ConvNextPretrained.Load(Fixture(ConvNextPretrained.BinFile), Mini, CPU);
        var io = Safetensors.LoadStateDict(Fixture("io.safetensors"));
        using var _ = no_grad();
        var features = tower.forward(io["pixels"]);                     // [2, 3, 96, 64] → 3 × 2 tokens
        Assert.Equal(new long[] { 2, 6, 48 }, features.shape);
        double worst = Tiny.MaxDiff(features, io["features"]);
        var stages = tower.Trunk.StageOutputs(io["pixels"]);
        for (int i = 0; i < stages.Count; i++)
        {
            double e = Tiny.MaxDiff(stages[i], io[$"stage{i}"]);
            output.WriteLine($"stage {i} {Checked.Fmt(stages[i].shape)}: max |C# − reference| = {e:0.0e+0}");
            worst = Math.Max(worst, e);
        }
        output.WriteLine($"features: max error {Tiny.MaxDiff(features, io["features"]):0.0e+0} (max |feature| {io["features"].abs().max().item<float>():0.00})");
        Assert.True(worst <= 1e-4, $"max error {worst}");
    }

    /// In bf16 the convolutions run with oneDNN off (ClipConvNextVisionTower.forward): the numbers stay those
    /// of fp32 to bf16's precision.
    [Fact]
    public void RunsInBf16()
    {
        using var scope = NewDisposeScope();
        using var tower = ConvNextPretrained.Load(Fixture(ConvNextPretrained.BinFile), Mini, CPU, ScalarType.BFloat16);
        var io = Safetensors.LoadStateDict(Fixture("io.safetensors"));
        using var _ = no_grad();
        var features = tower.forward(io["pixels"]);
        Assert.Equal(ScalarType.BFloat16, features.dtype);
        var expected = io["features"];
        double rel = (features.to(float32) - expected).abs().max().item<float>() / expected.abs().max().item<float>();
        output.WriteLine($"bf16 vs the fp32 reference: max error {rel:0.0e+0} of the largest feature");
        Assert.True(rel < 0.1, $"relative error {rel}");
    }

    /// Every parameter of the XXL tower has the name and shape of the release's `visual.*` tensor it loads from
    /// (manifest written from open_clip's convnext_xxlarge config on meta tensors), and the only release tensors
    /// the rule drops are the pooled-embedding head's. Built on the meta device: shapes without 846M floats.
    [Fact]
    public void XXLargeHasTheReleaseNamesAndShapes()
    {
        var manifest = JsonNode.Parse(File.ReadAllText(Fixture("xxlarge_manifest.json")))!;
        var release = MetaLayout.ReadManifest(Fixture("xxlarge_manifest.json"));
        int numTokens = 0, hidden = 0, reduction = 0;
        var ours = MetaLayout.Shapes(d =>
        {
            var tower = new ClipConvNextVisionTower(ConvNextConfig.XXLarge(), d);
            (numTokens, hidden, reduction) = (tower.NumTokens, tower.HiddenSize, tower.Config.Reduction);
            return tower;
        });
        var kept = release.Where(r => ConvNextPretrained.FromOpenClip(r.Key) is not null)
            .ToDictionary(r => ConvNextPretrained.FromOpenClip(r.Key)!, r => r.Value);
        MetaLayout.AssertSame(kept, ours, "CLIP-ConvNeXt-XXL tower (release visual.* by the name rule)", output);
        Assert.Equal(["visual.head.proj.weight", "visual.trunk.head.norm.bias", "visual.trunk.head.norm.weight"],
            release.Keys.Where(k => ConvNextPretrained.FromOpenClip(k) is null).Order());

        long total = MetaLayout.Parameters(ours);
        Assert.Equal(manifest["parameters"]!.GetValue<long>() - 2 * 3072 - 1024 * 3072, total);
        Assert.Equal((576, 3072, 32), (numTokens, hidden, reduction));
        output.WriteLine($"XXL tower: {ours.Count} tensors, {total:N0} parameters (release visual: {release.Count}, {manifest["parameters"]}).");
    }

    [Fact]
    public void TheNameRuleKeepsOnlyTheTrunksStemAndStages()
    {
        Assert.Equal("stem.0.weight", ConvNextPretrained.FromOpenClip("visual.trunk.stem.0.weight"));
        Assert.Equal("stages.2.blocks.29.gamma", ConvNextPretrained.FromOpenClip("visual.trunk.stages.2.blocks.29.gamma"));
        Assert.Equal("stages.1.downsample.1.bias", ConvNextPretrained.FromOpenClip("model.vision_tower.vision_tower.stages.1.downsample.1.bias"));
        foreach (var dropped in new[] { "visual.trunk.head.norm.weight", "visual.head.proj.weight", "logit_scale", "text_projection",
                     "transformer.resblocks.0.attn.in_proj_weight", "token_embedding.weight", "model.mm_projector.0.weight",
                     "model.vision_tower.vision_tower.head.norm.bias", "stem.0.weight" })
            Assert.Null(ConvNextPretrained.FromOpenClip(dropped));
    }

    [Fact]
    public void LoadingRefusesATruncatedFile()
    {
        var dir = TempDir();
        foreach (var name in new[] { ConvNextPretrained.BinFile, ConvNextPretrained.SafetensorsFile })
        {
            var path = Path.Combine(dir, name);
            if (name.EndsWith(".bin")) File.Copy(Fixture(name), path);
            else TestFiles.SaveSafetensors(path, Checkpoint.Read(Fixture(ConvNextPretrained.BinFile)));
            var bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
            var e = Assert.Throws<InvalidDataException>(() => ConvNextPretrained.Load(path, Mini, CPU));
            Assert.Contains(path, e.Message);
            output.WriteLine(e.Message);
        }
    }

    [Fact]
    public void LoadingRefusesAMissingKeyAndAWrongShapeNamingBoth()
    {
        var sd = Checkpoint.Read(Fixture(ConvNextPretrained.BinFile));
        sd.Remove("visual.trunk.stages.2.blocks.1.gamma");
        sd["visual.trunk.stages.3.downsample.1.weight"] = zeros(48, 32, 3, 3);
        var path = Path.Combine(TempDir(), ConvNextPretrained.SafetensorsFile);
        TestFiles.SaveSafetensors(path, sd);
        var e = Assert.Throws<CheckpointMismatchException>(() => ConvNextPretrained.Load(Path.GetDirectoryName(path)!, Mini, CPU));
        Assert.Equal(path, e.File);
        Assert.Equal(["stages.2.blocks.1.gamma"], e.Missing);
        var shape = Assert.Single(e.ShapeMismatches);
        Assert.Equal(("stages.3.downsample.1.weight", "[48, 32, 2, 2]", "[48, 32, 3, 3]"), (shape.Key, Checked.Fmt(shape.Expected!), Checked.Fmt(shape.Found!)));
        Assert.Empty(e.Unknown);
        output.WriteLine(e.Message);
    }

    [Fact]
    public void LoadingAFolderChecksItsOpenClipConfig()
    {
        var dir = TempDir();
        File.Copy(Fixture(ConvNextPretrained.BinFile), Path.Combine(dir, ConvNextPretrained.BinFile));
        File.WriteAllText(Path.Combine(dir, ConvNextPretrained.ConfigFile), """{"model_cfg": {"vision_cfg": {"timm_model_name": "convnext_large_d_320"}}}""");
        var e = Assert.Throws<InvalidDataException>(() => ConvNextPretrained.Load(dir, ConvNextConfig.XXLarge(), new Device(DeviceType.META)));
        Assert.Contains("convnext_large_d_320", e.Message);
        Assert.Contains(ConvNextPretrained.ConfigFile, e.Message);
        using var tower = ConvNextPretrained.Load(dir, Mini, CPU);      // no timm name to check: loads by shape
        Assert.Equal(48, tower.HiddenSize);
    }

    [Fact]
    public void LlavaTakesTheConvNextTowerThroughTheProjector()
    {
        using var scope = NewDisposeScope();
        var tok = WordTokenizer.Build(["what is this? a square."]);
        manual_seed(0);
        var config = LlavaConfig.WithConvNext(ConvNextConfig.Miniature(64), Tiny.Llama(vocab: tok.VocabSize), tok.ImageId);
        using var llava = new LlavaModel(config, CPU);
        Assert.IsType<ClipConvNextVisionTower>(llava.Tower);
        Assert.Throws<InvalidOperationException>(() => llava.VisionTower);
        Assert.Equal((64, 4, 48), (config.Vision.ImageSize, config.Vision.NumPatches, config.MmHiddenSize));
        Assert.Contains("vision_tower.stages.3.blocks.0.gamma", llava.state_dict().Keys);

        using var _ = no_grad();
        var pixels = randn(2, 3, 64, 64);
        var projected = llava.EncodeImages(pixels);
        Assert.Equal(new long[] { 2, 4, 32 }, projected.shape);
        Assert.True(Tiny.MaxDiff(projected, llava.MmProjector.forward(llava.Tower.forward(pixels))) == 0);
        var chat = ChatTemplate.Miniature().Render(tok, [new(ChatRole.User, "<image>\nwhat is this?"), new(ChatRole.Assistant, "a square.")]);
        using var result = llava.forward(pixels[..1], [new MultimodalSample(chat.Ids, chat.Labels)]);
        Assert.True(result.Loss.item<float>() is > 0 and < 100);
        Assert.Equal(4, result.Batch.Spans[0].Image.Length);

        var wrong = config with { ConvNext = ConvNextConfig.Miniature(128) };
        Assert.Throws<ArgumentException>(() => new LlavaModel(wrong, CPU));
    }

    [Fact]
    public void TheTowerRefusesPixelsItCannotEncode()
    {
        using var tower = new ClipConvNextVisionTower(Mini, CPU);
        var e = Assert.Throws<ShapeMismatchException>(() => tower.forward(zeros(1, 3, 16, 64)));
        Assert.Contains("[1, 3, 16, 64]", e.Message);
        Assert.Throws<ShapeMismatchException>(() => tower.forward(zeros(1, 4, 64, 64)));
        Assert.Throws<ArgumentException>(() => new ClipConvNextVisionTower(Mini with { ImageSize = 100 }, CPU));
    }

    static string TempDir() => TestFiles.TempDir("convnext", "load");
}
