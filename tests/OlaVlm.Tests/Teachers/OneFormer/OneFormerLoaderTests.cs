using System.Text.Json.Nodes;
using OlaVlm.Core;
using OlaVlm.Model;
using OlaVlm.Teachers.OneFormer;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers.OneFormer;

/// Loading OneFormer checkpoints: the real checkpoint's backbone key names and shapes (a committed shape-only
/// manifest, compared with a full-size module built on the meta device: no weights allocated), the prefix rule,
/// and one clear error for a truncated file, a missing key, a wrong shape or a foreign key.
/// Serial: MetaLayout builds on the meta device through torch's process-wide default device.
[Collection(SerialCollection.Name)]
public class OneFormerLoaderTests(ITestOutputHelper output)
{
    static readonly JsonNode Manifest = JsonNode.Parse(File.ReadAllText(OneFormerFixture.Manifest))!;

    static string DtypeName(ScalarType t) => t switch { ScalarType.Float32 => "float32", ScalarType.Int64 => "int64", _ => t.ToString() };

    [Fact]
    public void FullSizeBackboneHasTheCheckpointsNamesAndShapes()
    {
        var expected = MetaLayout.ReadManifest(OneFormerFixture.Manifest);
        var expectedDtypes = Manifest["tensors"]!.AsArray().ToDictionary(t => t!["name"]!.GetValue<string>(), t => t!["dtype"]!.GetValue<string>());
        // Built from the preset and from the manifest's backbone_config read as a config.json would be.
        var fromJson = SwinConfig.FromHfJson(Manifest["backbone_config"]!, "manifest backbone_config");
        foreach (var config in new[] { SwinConfig.OneFormerCocoSwinLarge, fromJson })
        {
            var dtypes = new Dictionary<string, string>();
            long parameters = 0;
            var own = MetaLayout.Shapes(d =>
            {
                var backbone = new SwinBackbone(config, d, initialize: false);
                foreach (var (k, t) in backbone.state_dict()) dtypes[OneFormerCheckpoint.BackbonePrefix + k] = DtypeName(t.dtype);
                parameters = backbone.parameters().Sum(p => p.numel());
                return backbone;
            });
            MetaLayout.AssertSame(expected, own.ToDictionary(kv => OneFormerCheckpoint.BackbonePrefix + kv.Key, kv => kv.Value), "OneFormer Swin-L backbone", output);
            Assert.Equal(expectedDtypes.OrderBy(kv => kv.Key), dtypes.OrderBy(kv => kv.Key));
            Assert.Equal(Manifest["parameters"]!.GetValue<long>(), parameters);
            Assert.Equal(1536, config.Channels(config.Outputs[^1]));
        }
        output.WriteLine($"{expected.Count} tensors, {Manifest["parameters"]} parameters: names, shapes and dtypes identical");
    }

    [Fact]
    public void PrefixRuleKeepsTheBackboneAndSkipsTheRestOfOneFormer()
    {
        Assert.Equal("encoder.layers.2.blocks.17.attention.self.relative_position_bias_table",
            OneFormerCheckpoint.MapName("model.pixel_level_module.encoder.encoder.layers.2.blocks.17.attention.self.relative_position_bias_table"));
        Assert.Equal("hidden_states_norms.stage4.weight", OneFormerCheckpoint.MapName("pixel_level_module.encoder.hidden_states_norms.stage4.weight"));
        foreach (var k in new[] { "model.pixel_level_module.decoder.mask_projection.weight", "model.transformer_module.decoder.layers.0.x",
                                  "model.task_encoder.task_mlp.layers.0.weight", "model.text_mapper.text_encoder.x", "criterion.empty_weight",
                                  "transformer_module.queries_embedder.weight" })
            Assert.Null(OneFormerCheckpoint.MapName(k));
        Assert.Equal("backbone.patch_embed.proj.weight", OneFormerCheckpoint.MapName("backbone.patch_embed.proj.weight"));
    }

    /// Writes the tiny checkpoint after `edit` into a fresh directory (config.json copied) and returns the directory.
    static string EditedCheckpoint(string name, Action<Dictionary<string, Tensor>> edit)
    {
        var dir = OneFormerFixture.TempDir(name);
        File.Copy(Path.Combine(OneFormerFixture.TinyDir, "config.json"), Path.Combine(dir, "config.json"));
        var sd = Checkpoint.Read(OneFormerFixture.TinyDir);
        edit(sd);
        TestFiles.SaveSafetensors(Path.Combine(dir, "model.safetensors"), sd);
        foreach (var t in sd.Values) t.Dispose();
        return dir;
    }

    [Fact]
    public void TruncatedFileIsRefusedNamingFileAndTensor()
    {
        var dir = EditedCheckpoint("truncated", _ => { });
        var file = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..^1000]);
        var e = Assert.Throws<InvalidDataException>(() => OneFormerSegTeacher.FromPretrained(dir, CPU));
        output.WriteLine(e.Message);
        Assert.Contains(file, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Matches("tensor '.+' \\(F32 \\[.+\\]\\)", e.Message);

        File.WriteAllBytes(file, bytes[..100]);               // cut inside the JSON header
        e = Assert.Throws<InvalidDataException>(() => OneFormerSegTeacher.FromPretrained(dir, CPU));
        Assert.Contains(file, e.Message);
        Assert.Contains("truncated", e.Message);

        var bin = Path.Combine(OneFormerFixture.TempDir("truncated-bin"), "pytorch_model.bin");
        File.WriteAllBytes(bin, [0x50, 0x4b, 0x03, 0x04, 1, 2, 3]);  // a zip's first bytes and nothing more
        var backbone = new SwinBackbone(SwinConfig.Tiny, CPU);
        e = Assert.Throws<InvalidDataException>(() => OneFormerCheckpoint.Load(backbone, bin));
        Assert.Contains(bin, e.Message);
    }

    [Fact]
    public void MissingKeyIsRefusedNamingFileAndKey()
    {
        const string key = "model.pixel_level_module.encoder.encoder.layers.1.blocks.1.attention.self.query.weight";
        var dir = EditedCheckpoint("missing", sd => { sd[key].Dispose(); sd.Remove(key); });
        var e = Assert.Throws<CheckpointMismatchException>(() => OneFormerSegTeacher.FromPretrained(dir, CPU));
        output.WriteLine(e.Message);
        Assert.Equal(["encoder.layers.1.blocks.1.attention.self.query.weight"], e.Missing);
        Assert.Single(e.Problems);
        Assert.Contains(Path.Combine(dir, "model.safetensors"), e.Message);
    }

    [Fact]
    public void WrongShapeAndForeignKeysAreRefusedTogether()
    {
        const string key = "model.pixel_level_module.encoder.hidden_states_norms.stage3.weight";
        var dir = EditedCheckpoint("shape", sd =>
        {
            sd[key].Dispose();
            sd[key] = ones(31);
            sd["swin.encoder.layers.0.blocks.0.layernorm_before.weight"] = ones(8);   // a plain Swin key: not OneFormer's
        });
        var e = Assert.Throws<CheckpointMismatchException>(() => OneFormerSegTeacher.FromPretrained(dir, CPU));
        output.WriteLine(e.Message);
        var bad = Assert.Single(e.ShapeMismatches);
        Assert.Equal("hidden_states_norms.stage3.weight", bad.Key);
        Assert.Equal(new long[] { 32 }, bad.Expected);
        Assert.Equal(new long[] { 31 }, bad.Found);
        Assert.Equal(["swin.encoder.layers.0.blocks.0.layernorm_before.weight"], e.Unknown);
        Assert.Contains("[32]", e.Message);
        Assert.Contains("[31]", e.Message);
    }

    [Fact]
    public void ForeignConfigsAreRefusedNamingTheFile()
    {
        var dir = OneFormerFixture.TempDir("config");
        var path = Path.Combine(dir, "config.json");
        File.WriteAllText(path, """{"model_type": "oneformer", "backbone_config": {"model_type": "dinat"}}""");
        var e = Assert.Throws<InvalidDataException>(() => OneFormerSegTeacher.FromPretrained(dir, CPU));
        Assert.Contains(path, e.Message);
        Assert.Contains("dinat", e.Message);
        File.WriteAllText(path, """{"model_type": "swin"}""");
        e = Assert.Throws<InvalidDataException>(() => OneFormerSegTeacher.FromPretrained(dir, CPU));
        Assert.Contains("backbone_config", e.Message);
        File.WriteAllText(path, """{"backbone_config": {"model_type": "swin", "embed_dim": 10, "num_heads": [3, 6, 12, 24]}}""");
        e = Assert.Throws<InvalidDataException>(() => OneFormerSegTeacher.FromPretrained(dir, CPU));
        Assert.Contains("num_heads", e.Message);
    }

    [Fact]
    public void PytorchModelBinLoadsLikeSafetensors()
    {
        using var scope = NewDisposeScope();
        var io = Checkpoint.Read(OneFormerFixture.Io);
        using var teacher = OneFormerSegTeacher.FromPretrained(Path.Combine(OneFormerFixture.Dir, "tiny-bin"), CPU);
        using var reference = OneFormerSegTeacher.FromPretrained(OneFormerFixture.TinyDir, CPU);
        Assert.Equal(reference.WeightsHash, teacher.WeightsHash);
        Assert.True(TestFiles.MaxAbs(teacher.Encode(io["pixel_values"]), io["target"]) <= 1e-4);
    }

    [Fact]
    public void RelativePositionIndicesMayBeAbsentFromTheFile()
    {
        var dir = EditedCheckpoint("no-index", sd =>
        {
            foreach (var k in sd.Keys.Where(k => k.EndsWith("relative_position_index")).ToList()) { sd[k].Dispose(); sd.Remove(k); }
        });
        using var scope = NewDisposeScope();
        var io = Checkpoint.Read(OneFormerFixture.Io);
        using var teacher = OneFormerSegTeacher.FromPretrained(dir, CPU);
        Assert.True(TestFiles.MaxAbs(teacher.Encode(io["pixel_values"]), io["target"]) <= 1e-4);
    }
}
