using OlaVlm.Core;
using OlaVlm.Model;
using OlaVlm.Teachers;
using OlaVlm.Teachers.DepthAnything;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers.FullScale;

/// Depth-Anything-V2 against the authors' code (fixtures from environment/fixtures/teachers_dav2_unclip.py):
/// the backbone's four blocks and the DPT depth on a non-square, interpolated grid; OLA-VLM's _get_dav2_feats target
/// and normalised depth pictures from PNG images; strict loading.
public class DepthAnythingV2Tests(ITestOutputHelper output)
{
    static string TinyPth => TeacherFixtures.At("dav2", "tiny_dav2.pth");

    static DepthAnythingV2Teacher TinyTeacher() =>
        DepthAnythingV2Teacher.Load(TinyPth, DepthAnythingV2Config.Tiny(), CPU);

    [Fact]
    public void BlocksAndDepthMatchTheAuthorsForwardOnANonSquareGrid()
    {
        using var scope = NewDisposeScope();
        var want = TeacherFixtures.Read("dav2", "forward_5x3.safetensors");
        using var model = DepthAnythingV2.Load(TinyPth, DepthAnythingV2Config.Tiny(), CPU);
        using var _ = no_grad();
        var feats = model.Features(want["input"]);
        double worst = 0;
        for (int i = 0; i < 4; i++)
        {
            worst = Math.Max(worst, TestFiles.MaxAbs(feats[i].Patches, want[$"patch{i}"]));
            worst = Math.Max(worst, TestFiles.MaxAbs(feats[i].Cls, want[$"cls{i}"]));
        }
        double depth = TestFiles.MaxAbs(model.forward(want["input"]), want["depth"]);
        output.WriteLine($"70x42 px (5x3 patches from a 4x4 native grid): blocks max |err| {worst:e2}, depth {depth:e2} (depth scale {want["depth"].abs().max().item<float>():g3})");
        Assert.True(worst <= TeacherFixtures.Tolerance, $"blocks max error {worst:e2}");
        Assert.True(depth <= TeacherFixtures.Tolerance, $"depth max error {depth:e2}");
    }

    [Fact]
    public void TargetAndDecodedDepthMatchGetDav2Feats()
    {
        using var scope = NewDisposeScope();
        var want = TeacherFixtures.Read("dav2", "target_336.safetensors");
        using var teacher = TinyTeacher();
        var images = TeacherFixtures.Images();
        for (int i = 0; i < images.Count; i++)
        {
            var resized = PilResize.Bicubic(images[i], 336, 336);
            Assert.Equal(want["resized_checksum"][i].data<double>().ToArray(), TeacherFixtures.Checksum(resized, 336, 336));
        }
        var pixels = teacher.Preprocess(images);
        double px = TestFiles.MaxAbs(pixels[.., .., TensorIndex.Slice(null, null, 7), TensorIndex.Slice(null, null, 7)], want["pixels_sub7"]);
        double pxSum = TestFiles.MaxAbs(pixels.to(ScalarType.Float64).sum([1, 2, 3]), want["pixels_sum"]);

        var target = teacher.Encode(pixels);
        Assert.Equal(new long[] { 576, 24 }, teacher.TargetShape);
        double t = TestFiles.MaxAbs(target, want["target"]);
        var depth = teacher.Decode(target)!;
        Assert.Equal(new long[] { 2, 336, 336 }, depth.shape);
        double d = TestFiles.MaxAbs(depth[.., TensorIndex.Slice(null, null, 4), TensorIndex.Slice(null, null, 4)], want["depth_sub4"]);
        double dSum = TestFiles.MaxAbs(depth.to(ScalarType.Float64).sum([1, 2]), want["depth_sum"]);
        output.WriteLine($"pixels max |err| {px:e2} (sums {pxSum:e2}); target [2, 576, 24] {t:e2}; depth picture {d:e2} (sums over 336² {dSum:e2})");
        Assert.True(px <= 1e-5 && pxSum <= 1e-2, $"pixels {px:e2}, sums {pxSum:e2}");
        Assert.True(t <= TeacherFixtures.Tolerance, $"target max error {t:e2}");
        // Every pixel enters the sum, so the sums may differ by up to 336² times a per-pixel error: bound their mean.
        Assert.True(d <= TeacherFixtures.Tolerance && dSum / (336 * 336) <= 1e-6, $"depth max error {d:e2}, sums {dSum:e2}");
    }

    [Fact]
    public void DecodeOfAConstantMapIsZerosAndShapesAreChecked()
    {
        using var scope = NewDisposeScope();
        using var teacher = TinyTeacher();
        var flat = DepthAnythingV2Teacher.MinMax(full(1, 4, 4, 3f));
        Assert.Equal(0f, flat.abs().max().item<float>());
        Assert.Throws<ShapeMismatchException>(() => teacher.Encode(zeros(1, 3, 224, 224)));
        Assert.Throws<ShapeMismatchException>(() => teacher.Decode(zeros(1, 100, 24)));
        Assert.Throws<ShapeMismatchException>(() => teacher.Model.Features(zeros(1, 3, 30, 28)));
    }

    [Fact]
    public void TruncatedCheckpointIsRefusedNamingTheFile()
    {
        var dir = TeacherFixtures.TempDir("dav2-truncated");
        var path = Path.Combine(dir, "depth_anything_v2_vitl.pth");
        var bytes = File.ReadAllBytes(TinyPth);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => DepthAnythingV2.Load(path, DepthAnythingV2Config.Tiny(), CPU));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void MissingUnknownAndMisshapenKeysAreAllNamed()
    {
        var sd = Checkpoint.Read(TinyPth);
        sd.Remove("depth_head.scratch.output_conv2.2.bias", out var removed);
        removed!.Dispose();
        sd["pretrained.register_tokens"] = zeros(1, 4, 24);
        sd["pretrained.blocks.3.ls1.gamma"] = zeros(32);
        var path = Path.Combine(TeacherFixtures.TempDir("dav2-bad"), "bad.safetensors");
        TestFiles.SaveSafetensors(path, sd);
        var e = Assert.Throws<CheckpointMismatchException>(() => DepthAnythingV2.Load(path, DepthAnythingV2Config.Tiny(), CPU));
        output.WriteLine(e.Message);
        Assert.Equal(path, e.File);
        Assert.Contains("depth_head.scratch.output_conv2.2.bias", e.Missing);
        Assert.Contains("pretrained.register_tokens", e.Unknown);
        var shape = Assert.Single(e.ShapeMismatches);
        Assert.Equal("pretrained.blocks.3.ls1.gamma", shape.Key);
        Assert.Equal(new long[] { 24 }, shape.Expected);
        Assert.Equal(new long[] { 32 }, shape.Found);
        Assert.Contains("[24]", e.Message);
        Assert.Contains("[32]", e.Message);
    }
}
