using OlaVlm.Core;
using OlaVlm.Model;
using OlaVlm.Teachers.UnClip;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers.FullScale;

/// The unCLIP image-encoder teacher against transformers' CLIPVisionModelWithProjection and OLA-VLM's _get_gen_feats
/// (fixtures from environment/fixtures/teachers_dav2_unclip.py), the CLIPImageProcessor at unCLIP's 224 setting,
/// fp16 weights and strict loading.
public class UnClipTeacherTests(ITestOutputHelper output)
{
    static string Dir => TeacherFixtures.At("unclip");

    [Fact]
    public void ImageEmbedsMatchGetGenFeats()
    {
        using var scope = NewDisposeScope();
        var want = TeacherFixtures.Read("unclip", "expected.safetensors");
        using var teacher = UnClipImageEncoderTeacher.Load(Dir, CPU);
        Assert.Equal(new ClipImageProcessor(64, 56, 56), teacher.Processor with { ImageMean = null, ImageStd = null });
        var pixels = teacher.Preprocess(TeacherFixtures.Images());
        double px = TestFiles.MaxAbs(pixels, want["pixels"]);
        var embeds = teacher.Encode(pixels);
        double e = TestFiles.MaxAbs(embeds, want["image_embeds"]);
        using var _ = no_grad();
        double h = TestFiles.MaxAbs(teacher.Model.VisionModel.HiddenStates(want["pixels"])[^1], want["last_hidden_state"]);
        output.WriteLine($"pixels max |err| {px:e2}; last_hidden_state {h:e2}; image_embeds [2, 1, 24] {e:e2}");
        Assert.Equal(new long[] { 1, 24 }, teacher.TargetShape);
        Assert.True(px <= 1e-5, $"pixels {px:e2}");
        Assert.True(h <= TeacherFixtures.Tolerance && e <= TeacherFixtures.Tolerance, $"hidden {h:e2}, embeds {e:e2}");
        Assert.Null(teacher.Decode(embeds));
    }

    [Fact]
    public void FeatureExtractorAt224MatchesCLIPImageProcessor()
    {
        using var scope = NewDisposeScope();
        var want = TeacherFixtures.Read("unclip", "expected.safetensors");
        var pixels = new ClipImageProcessor().Preprocess(TeacherFixtures.Images(), CPU);
        Assert.Equal(new long[] { 2, 3, 224, 224 }, pixels.shape);
        double sub = TestFiles.MaxAbs(pixels[.., .., TensorIndex.Slice(null, null, 4), TensorIndex.Slice(null, null, 4)], want["pixels224_sub4"]);
        double sums = TestFiles.MaxAbs(pixels.to(ScalarType.Float64).sum([1, 2, 3]), want["pixels224_sum"]);
        output.WriteLine($"224² pixels: max |err| {sub:e2} (every 4th pixel), per-image sums {sums:e2}");
        Assert.True(sub <= 1e-5 && sums <= 1e-2, $"pixels {sub:e2}, sums {sums:e2}");
    }

    [Fact]
    public void Fp16WeightsLoadIntoFloat32()
    {
        using var scope = NewDisposeScope();
        var dir = TeacherFixtures.TempDir("unclip-fp16");
        var enc = Directory.CreateDirectory(Path.Combine(dir, "image_encoder")).FullName;
        File.Copy(Path.Combine(Dir, "image_encoder", "config.json"), Path.Combine(enc, "config.json"));
        var fe = Directory.CreateDirectory(Path.Combine(dir, "feature_extractor")).FullName;
        File.Copy(Path.Combine(Dir, "feature_extractor", "preprocessor_config.json"), Path.Combine(fe, "preprocessor_config.json"));
        var sd = Checkpoint.Read(Path.Combine(Dir, "image_encoder"));
        TestFiles.SaveSafetensors(Path.Combine(enc, "model.safetensors"), sd.ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float16)));
        using var half = UnClipImageEncoderTeacher.Load(dir, CPU);
        Assert.All(half.Model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        // The same weights rounded through fp16 by hand, in an fp32 model: identical numbers expected.
        using var rounded = new ClipVisionModelWithProjection(half.Model.Config, CPU);
        Checkpoint.Load(rounded, sd.ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float16).to(ScalarType.Float32)));
        var pixels = new ClipImageProcessor(56, 56, 56).Preprocess(TeacherFixtures.Images(), CPU);
        using var _ = no_grad();
        Assert.Equal(0.0, TestFiles.MaxAbs(half.Encode(pixels).squeeze(1), rounded.forward(pixels)));
    }

    [Fact]
    public void TruncatedMissingAndMisshapenWeightsAreRefused()
    {
        var sd = Checkpoint.Read(Path.Combine(Dir, "image_encoder"));
        string Folder(string name, Dictionary<string, Tensor> weights, int? projectionDim = null)
        {
            var root = TeacherFixtures.TempDir(name);
            var enc = Directory.CreateDirectory(Path.Combine(root, "image_encoder")).FullName;
            var fe = Directory.CreateDirectory(Path.Combine(root, "feature_extractor")).FullName;
            File.Copy(Path.Combine(Dir, "feature_extractor", "preprocessor_config.json"), Path.Combine(fe, "preprocessor_config.json"));
            var cfg = File.ReadAllText(Path.Combine(Dir, "image_encoder", "config.json"));
            if (projectionDim is int p) cfg = cfg.Replace("\"projection_dim\": 24", $"\"projection_dim\": {p}");
            File.WriteAllText(Path.Combine(enc, "config.json"), cfg);
            TestFiles.SaveSafetensors(Path.Combine(enc, "model.safetensors"), weights);
            return enc;
        }
        var truncated = Folder("unclip-trunc", sd);
        var file = Path.Combine(truncated, "model.safetensors");
        File.WriteAllBytes(file, File.ReadAllBytes(file)[..2000]);
        Assert.Contains(file, Assert.Throws<InvalidDataException>(() => UnClipImageEncoderTeacher.Load(truncated, CPU)).Message);

        var missing = Folder("unclip-missing", sd.Where(kv => kv.Key != "visual_projection.weight").ToDictionary());
        var e = Assert.Throws<CheckpointMismatchException>(() => UnClipImageEncoderTeacher.Load(missing, CPU));
        Assert.Equal(["visual_projection.weight"], e.Missing);

        var misshapen = Folder("unclip-shape", sd, projectionDim: 16);
        e = Assert.Throws<CheckpointMismatchException>(() => UnClipImageEncoderTeacher.Load(misshapen, CPU));
        output.WriteLine(e.Message);
        var p = Assert.Single(e.ShapeMismatches);
        Assert.Equal("visual_projection.weight", p.Key);
        Assert.Equal(new long[] { 16, 32 }, p.Expected);
        Assert.Equal(new long[] { 24, 32 }, p.Found);
    }
}
