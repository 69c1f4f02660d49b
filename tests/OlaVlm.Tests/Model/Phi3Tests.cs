using System.Text.Json.Nodes;
using OlaVlm.Core;
using OlaVlm.Model;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Model;

/// Phi-3 beyond the reference fixtures: cached decoding across the window, LLaVA with a Phi-3 decoder, saving in
/// transformers' fused layout, and the errors bad configs and checkpoints give.
public class Phi3Tests(ITestOutputHelper output)
{
    static string Full(string name) => LlmReferenceFixtureTests.Fixture(Path.Combine("full", name));

    static string TempDir(string name) => TestFiles.TempDir("model", name);

    static LlamaConfig TinyPhi3(int? window = 3, LongRopeScaling? rope = null) =>
        new(40, HiddenSize: 32, IntermediateSize: 48, NumLayers: 2, NumHeads: 4, NumKvHeads: 4, RmsNormEps: 1e-5,
            MaxPositionEmbeddings: 64, SlidingWindow: window, RopeScaling: rope, ModelType: "phi3");

    [Fact]
    public void CachedGreedyDecodingEqualsRecomputationAcrossTheWindow()
    {
        using var scope = NewDisposeScope();
        // Window 3 with 5-token prompts and 16 new tokens: every later step attends a moving window of cached keys.
        // Row 1 is left-padded, so padding, window and cache meet.
        var rope = new LongRopeScaling("longrope", [1.0, 1.5, 2.0, 3.0], [4.0, 5.0, 6.0, 8.0], 32);
        foreach (var config in new[] { TinyPhi3(window: 3), TinyPhi3(window: 3, rope: rope) with { MaxPositionEmbeddings = 128 } })
        {
            manual_seed(11);
            var lm = new LlamaForCausalLM(config, CPU);
            lm.eval();
            var ids = Tiny.Ids(12, 2, 5);
            var mask = ones(2, 5, dtype: ScalarType.Int64);
            mask[1, ..2] = zeros(2, dtype: ScalarType.Int64);
            var cached = Generation.Generate(lm, ids, null, mask, new GenerationOptions(MaxNewTokens: 16, UseCache: true));
            var recomputed = Generation.Generate(lm, ids, null, mask, new GenerationOptions(MaxNewTokens: 16, UseCache: false));
            Assert.Equal(recomputed, cached);
            Assert.Equal(16, cached[0].Length);
        }
    }

    [Fact]
    public void SavedPhi3DirectoriesUseTransformersFusedLayoutExactly()
    {
        using var scope = NewDisposeScope();
        var src = LlmReferenceFixtureTests.Fixture("phi3_window");
        var lm = Pretrained.LoadCausalLm(src, CPU, ScalarType.Float32);
        var dir = TempDir("phi3-save");
        Pretrained.SaveLlama(lm, dir);
        var (theirs, ours) = (Checkpoint.Read(src), Checkpoint.Read(dir));
        Assert.Equal(theirs.Keys.Order(), ours.Keys.Order());
        foreach (var (k, t) in theirs) Assert.True(t.shape.SequenceEqual(ours[k].shape) && t.eq(ours[k]).all().item<bool>(), k);
        Assert.Equal(lm.Config, Pretrained.LoadCausalLm(dir, CPU).Config);
    }

    [Fact]
    public void LlavaTakesAPhi3DecoderAndRoundTripsAsLlavaPhi3()
    {
        using var scope = NewDisposeScope();
        manual_seed(13);
        var cfg = new LlavaConfig(Tiny.Vision(), TinyPhi3(window: 6), ImageTokenId: 4);
        var llava = new LlavaModel(cfg, CPU);
        llava.eval();
        var root = TempDir("llava-phi3");
        Pretrained.SaveLlava(llava, Path.Combine(root, "llava"), Path.Combine(root, "clip"));
        Assert.Equal("llava_phi3", Pretrained.ReadConfig(Path.Combine(root, "llava"))["model_type"]!.GetValue<string>());
        Assert.Contains("model.layers.1.mlp.gate_up_proj.weight", Checkpoint.Read(Path.Combine(root, "llava")).Keys);
        var back = Pretrained.LoadLlava(Path.Combine(root, "llava"), Path.Combine(root, "clip"), CPU, imageTokenId: 4);
        Assert.Equal(cfg, back.Config);

        var samples = new[] { new MultimodalSample([1, 4, 7, 8, 9], [Labels.Ignore, Labels.Ignore, 7, 8, 9]) };
        var pixels = randn(1, 3, 16, 16);
        using (no_grad())
        {
            using var a = llava.forward(pixels, samples, outputHiddenStates: true);
            using var b = back.forward(pixels, samples, outputHiddenStates: true);
            Assert.Equal(0.0, Tiny.MaxDiff(a.Output.Logits, b.Output.Logits));
        }
        // 16 image tokens + 4 text tokens with window 6: generation crosses the window inside the image.
        var prompts = new[] { new long[] { 1, 4, 7 } };
        var cached = back.Generate(prompts, pixels, new GenerationOptions(MaxNewTokens: 6, UseCache: true));
        Assert.Equal(back.Generate(prompts, pixels, new GenerationOptions(MaxNewTokens: 6, UseCache: false)), cached);
    }

    static JsonObject Phi3Json() => Phi3Config.ToHfJson(TinyPhi3());

    [Fact]
    public void BadConfigsAndCheckpointsAreRefusedWithFileKeyAndShape()
    {
        static string Refused<T>(JsonObject j) where T : Exception => Assert.Throws<T>(() => Phi3Config.FromHfJson(j, "dir/config.json")).Message;

        var yarn = Phi3Json(); yarn["rope_scaling"] = new JsonObject { ["type"] = "yarn", ["short_factor"] = new JsonArray(1, 1, 1, 1), ["long_factor"] = new JsonArray(2, 2, 2, 2) };
        Assert.Contains("dir/config.json: rope_scaling type 'yarn' is not supported", Refused<NotSupportedException>(yarn));
        var dynamic = Phi3Json(); dynamic["rope_scaling"] = new JsonObject { ["rope_type"] = "dynamic", ["factor"] = 2.0 };
        Assert.Contains("'dynamic'", Refused<NotSupportedException>(dynamic));
        var shortList = Phi3Json(); shortList["rope_scaling"] = new JsonObject { ["type"] = "su", ["short_factor"] = new JsonArray(1, 1), ["long_factor"] = new JsonArray(2, 2, 2, 2) };
        Assert.Contains("short_factor has 2 entries; head dim 8 needs 4", Refused<InvalidDataException>(shortList));
        var noLong = Phi3Json(); noLong["rope_scaling"] = new JsonObject { ["type"] = "longrope", ["short_factor"] = new JsonArray(1, 1, 1, 1) };
        Assert.Contains("needs the list 'long_factor'", Refused<InvalidDataException>(noLong));
        var missing = Phi3Json(); missing.Remove("hidden_size");
        Assert.Contains("dir/config.json: missing key 'hidden_size'", Refused<InvalidDataException>(missing));
        var partial = Phi3Json(); partial["partial_rotary_factor"] = 0.5;
        Assert.Contains("partial_rotary_factor 0.5", Refused<NotSupportedException>(partial));
        var gelu = Phi3Json(); gelu["hidden_act"] = "gelu";
        Assert.Contains("hidden_act 'gelu'", Refused<NotSupportedException>(gelu));
        var llama = LlamaConfig.Llama3_8B().ToHfJson(); llama["rope_scaling"] = new JsonObject { ["rope_type"] = "llama3" };
        Assert.Throws<NotSupportedException>(() => LlamaConfig.FromHfJson(llama));

        // A fused tensor cut short: the error names the directory, the key and both shapes; nothing is loaded.
        var dir = TempDir("phi3-bad");
        foreach (var f in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(LlmReferenceFixtureTests.Fixture("phi3_window"), f), Path.Combine(dir, f));
        var sd = Checkpoint.Read(dir);
        sd["model.layers.1.self_attn.qkv_proj.weight"] = sd["model.layers.1.self_attn.qkv_proj.weight"][..90].contiguous();
        TestFiles.SaveSafetensors(Path.Combine(dir, "model.safetensors"), sd);
        var e = Assert.Throws<CheckpointMismatchException>(() => Pretrained.LoadCausalLm(dir, CPU));
        Assert.Contains(dir, e.Message);
        Assert.Contains("model.layers.1.self_attn.qkv_proj.weight: shape mismatch (model [96, 32], file [90, 32])", e.Message);
        output.WriteLine(e.Message);

        var unknown = Phi3Json(); unknown["model_type"] = "gemma";
        File.WriteAllText(Path.Combine(dir, "config.json"), unknown.ToJsonString());
        Assert.Contains("model_type 'gemma'", Assert.Throws<NotSupportedException>(() => Pretrained.LoadCausalLm(dir, CPU)).Message);
        var clip = JsonNode.Parse(File.ReadAllText(Path.Combine(Full("clip_vit_l14_336"), "config.json")))!;
        clip["vision_config"]!["hidden_act"] = "silu";
        File.WriteAllText(Path.Combine(dir, "config.json"), clip.ToJsonString());
        Assert.Contains("vision hidden_act 'silu'", Assert.Throws<NotSupportedException>(() => Pretrained.ReadClipVisionConfig(dir)).Message);
    }
}
