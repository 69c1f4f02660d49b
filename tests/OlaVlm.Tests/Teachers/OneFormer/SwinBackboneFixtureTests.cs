using OlaVlm.Model;
using OlaVlm.Teachers;
using OlaVlm.Teachers.OneFormer;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers.OneFormer;

/// The C# Swin backbone and seg target against transformers' SwinBackbone run on the same tiny random weights
/// (3 stages, window 4, shifted blocks, padding at every level, relative position bias, patch merging, stage norms).
public class SwinBackboneFixtureTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;

    [Fact]
    public void TinyConfigJsonReadsAsTheTinyPreset()
    {
        var json = Pretrained.ReadConfig(OneFormerFixture.TinyDir)["backbone_config"]!;
        var c = SwinConfig.FromHfJson(json, "tiny/config.json");
        Assert.Equal(SwinConfig.Tiny.ToHfJson().ToJsonString(), c.ToHfJson().ToJsonString());
    }

    [Fact]
    public void FeatureMapsMatchTransformersSwinBackbone()
    {
        using var scope = NewDisposeScope();
        var io = Checkpoint.Read(OneFormerFixture.Io);
        var backbone = new SwinBackbone(SwinConfig.Tiny, CPU, initialize: false);
        OneFormerCheckpoint.Load(backbone, OneFormerFixture.TinyDir);
        backbone.eval();
        using var _ = no_grad();
        var maps = backbone.forward(io["pixel_values"]);
        Assert.Equal(3, maps.Count);
        for (int i = 0; i < maps.Count; i++)
        {
            var expected = io[$"feature_maps.stage{i + 1}"];
            double err = TestFiles.MaxAbs(maps[i], expected);
            output.WriteLine($"stage{i + 1} {Core.Checked.Fmt(expected.shape)}: max |C# − transformers| = {err:E2}");
            Assert.True(err <= Tolerance, $"stage{i + 1}: max error {err:E2} > {Tolerance}");
        }
        // lastOnly gives the same last map.
        Assert.True(TestFiles.MaxAbs(backbone.forward(io["pixel_values"], lastOnly: true).Single(), maps[^1]) == 0);
    }

    [Fact]
    public void SegTargetMatchesReturnFeatures()
    {
        using var scope = NewDisposeScope();
        var io = Checkpoint.Read(OneFormerFixture.Io);
        using var teacher = OneFormerSegTeacher.FromPretrained(OneFormerFixture.TinyDir, CPU);
        Assert.Equal(TeacherKind.Seg, teacher.Kind);
        Assert.Equal(new long[] { 576, 32 }, teacher.TargetShape);
        var target = teacher.Encode(io["pixel_values"]);
        Assert.Equal(ScalarType.Float32, target.dtype);
        Assert.False(target.requires_grad);
        double err = TestFiles.MaxAbs(target, io["target"]);
        output.WriteLine($"target {Core.Checked.Fmt(target.shape)} (24×24 bilinear of stage3, tokens row-major): max error {err:E2}");
        Assert.True(err <= Tolerance, $"target max error {err:E2} > {Tolerance}");
        Assert.Null(teacher.Decode(target));
        Assert.Matches("^[0-9a-f]{64}$", teacher.WeightsHash);
    }

    [Fact]
    public void ShiftIsOffWhenTheMapIsOneWindowAndSmallerMapsAreRefused()
    {
        using var scope = NewDisposeScope();
        var backbone = new SwinBackbone(SwinConfig.Tiny, CPU);
        var shifted = backbone.Encoder.Stages[0].Blocks[1];
        Assert.Equal(2, shifted.ShiftFor(5, 9));
        Assert.Equal(0, shifted.ShiftFor(4, 9));
        var e = Assert.Throws<ArgumentException>(() => shifted.ShiftFor(3, 9));
        Assert.Contains("3×9", e.Message);
        // 40×40 pixels → stage 3 is 3×3, below the 4×4 window.
        Assert.Throws<ArgumentException>(() => { backbone.forward(randn(1, 3, 40, 40)); });
    }
}
