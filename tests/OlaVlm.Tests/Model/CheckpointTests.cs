using OlaVlm.Core;
using OlaVlm.Model;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Model;

public class CheckpointTests
{
    static string TempDir(string name)
    {
        var d = Path.Combine(Paths.OutDir("tests", "model"), name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    [Fact]
    public void ParameterNamesMatchHuggingFaceAndLlava()
    {
        using var scope = NewDisposeScope();
        var lm = new LlamaForCausalLM(Tiny.Llama(tied: false), Tiny.Cpu);
        var names = lm.state_dict().Keys.ToHashSet();
        foreach (var n in new[] { "model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
                     "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.o_proj.weight", "model.layers.0.mlp.gate_proj.weight",
                     "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight", "model.layers.0.input_layernorm.weight",
                     "model.layers.0.post_attention_layernorm.weight", "model.norm.weight", "lm_head.weight" })
            Assert.Contains(n, names);
        Assert.Equal(3 + 2 * 9, names.Count);
        Assert.DoesNotContain("lm_head.weight", new LlamaForCausalLM(Tiny.Llama(tied: true), Tiny.Cpu).state_dict().Keys);

        var vision = new ClipVisionModel(Tiny.Vision(), Tiny.Cpu).state_dict().Keys.ToHashSet();
        foreach (var n in new[] { "vision_model.embeddings.patch_embedding.weight", "vision_model.embeddings.class_embedding",
                     "vision_model.embeddings.position_embedding.weight", "vision_model.pre_layrnorm.weight",
                     "vision_model.encoder.layers.0.self_attn.q_proj.weight", "vision_model.encoder.layers.0.self_attn.out_proj.bias",
                     "vision_model.encoder.layers.0.layer_norm1.weight", "vision_model.encoder.layers.0.mlp.fc1.weight",
                     "vision_model.encoder.layers.0.layer_norm2.bias", "vision_model.post_layernorm.weight" })
            Assert.Contains(n, vision);

        var clip = new ClipModel(new ClipConfig(new ClipTextConfig(30, 32, 64, 1, 4, 16), Tiny.Vision(), 16), Tiny.Cpu).state_dict().Keys.ToHashSet();
        foreach (var n in new[] { "text_model.embeddings.token_embedding.weight", "text_model.embeddings.position_embedding.weight",
                     "text_model.encoder.layers.0.self_attn.k_proj.weight", "text_model.final_layer_norm.weight",
                     "vision_model.embeddings.class_embedding", "visual_projection.weight", "text_projection.weight", "logit_scale" })
            Assert.Contains(n, clip);

        var llava = new LlavaModel(Tiny.Llava(), Tiny.Cpu).state_dict().Keys.Select(HfNames.ToLlava).ToHashSet();
        foreach (var n in new[] { "model.mm_projector.0.weight", "model.mm_projector.0.bias", "model.mm_projector.2.weight",
                     "model.embed_tokens.weight", "model.layers.1.mlp.down_proj.weight",
                     "model.vision_tower.vision_tower.vision_model.embeddings.class_embedding" })
            Assert.Contains(n, llava);
        Assert.All(llava, n => Assert.Equal(n, HfNames.ToLlava(HfNames.FromLlava(n)!)));
    }

    [Fact]
    public void SafetensorsRoundTripRestoresEveryWeight_AlsoUnderLlavaNames()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var a = new LlavaModel(Tiny.Llava(), Tiny.Cpu);
        manual_seed(4);
        var b = new LlavaModel(Tiny.Llava(), Tiny.Cpu);
        var path = Path.Combine(TempDir("llava"), "llava.safetensors");
        Checkpoint.Save(a, path, HfNames.ToLlava);
        Checkpoint.Load(b, path, HfNames.FromLlava);
        var sa = a.state_dict(); var sb = b.state_dict();
        Assert.All(sa.Keys, k => Assert.True(sa[k].eq(sb[k]).all().item<bool>(), k));
    }

    [Fact]
    public void SavedFileFollowsTheSafetensorsSpec()
    {
        // What Python's safetensors checks: u64 header length, JSON {name: {dtype, shape, data_offsets}},
        // offsets contiguous from 0 and ending exactly at the end of the file.
        using var scope = NewDisposeScope();
        var lm = Tiny.Lm(tied: true);
        var path = Path.Combine(TempDir("spec"), "lm.safetensors");
        Checkpoint.Save(lm, path);
        var bytes = File.ReadAllBytes(path);
        long n = BitConverter.ToInt64(bytes, 0);
        using var header = System.Text.Json.JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var entries = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
            .Select(p => (p.Name, Dtype: p.Value.GetProperty("dtype").GetString(),
                Shape: p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray(),
                Off: p.Value.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray()))
            .OrderBy(e => e.Off[0]).ToList();
        var sd = lm.state_dict();
        Assert.Equal(sd.Keys.OrderBy(k => k), entries.Select(e => e.Name).OrderBy(k => k));
        long at = 0;
        foreach (var e in entries)
        {
            Assert.Equal("F32", e.Dtype);
            Assert.Equal(sd[e.Name].shape, e.Shape);
            Assert.Equal(at, e.Off[0]);
            Assert.Equal(e.Shape.Aggregate(4L, (a, d) => a * d), e.Off[1] - e.Off[0]);
            at = e.Off[1];
        }
        Assert.Equal(bytes.Length, 8 + n + at);
    }

    [Fact]
    public void LoadPretrainedReadsAnHfDirectory_Bf16Too()
    {
        using var scope = NewDisposeScope();
        var dir = TempDir("llama");
        var lm = Tiny.Lm(tied: false, seed: 5);
        Pretrained.SaveLlama(lm, dir);
        var loaded = Pretrained.LoadLlama(dir, Tiny.Cpu);
        loaded.eval();
        Assert.Equal(lm.Config, loaded.Config);
        var ids = Tiny.Ids(15, 1, 6);
        using var _ = no_grad();
        Assert.True(Tiny.MaxDiff(lm.forward(ids).Logits, loaded.forward(ids).Logits) == 0);
        var half = Pretrained.LoadLlama(dir, Tiny.Cpu, ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, half.parameters().First().dtype);
        Assert.Equal(ScalarType.Float32, get_default_dtype());
        Assert.True(Tiny.MaxDiff(lm.forward(ids).Logits, half.forward(ids).Logits.to(ScalarType.Float32)) < 0.1);
    }

    [Fact]
    public void MismatchedCheckpointListsEveryProblemAtOnce()
    {
        using var scope = NewDisposeScope();
        var lm = Tiny.Lm(tied: false);
        var sd = lm.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        sd.Remove("model.norm.weight");
        sd.Remove("lm_head.weight");
        sd["model.layers.0.mlp.up_proj.weight"] = zeros(3, 3);
        sd["model.extra.weight"] = zeros(2);
        var e = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.Load(lm, sd, source: "test.safetensors"));
        Assert.Equal(["model.extra.weight"], e.Unknown);
        Assert.Equal(["model.norm.weight", "lm_head.weight"], e.Missing.OrderByDescending(x => x.Length).ToArray());
        Assert.Single(e.ShapeMismatches);
        Assert.Contains("test.safetensors", e.Message);
        Assert.Contains("[3, 3]", e.Message);
    }
}

public class LlavaCheckpointTests
{
    [Fact]
    public void LoadLlavaReadsOriginalLlavaAndClipDirectories()
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        var llava = new LlavaModel(Tiny.Llava(), Tiny.Cpu);
        var root = Path.Combine(Paths.OutDir("tests", "model"), "llava-" + Guid.NewGuid().ToString("N")[..8]);
        Pretrained.SaveLlava(llava, Path.Combine(root, "llava"), Path.Combine(root, "clip"));
        var keys = Checkpoint.Read(Path.Combine(root, "llava")).Keys.ToHashSet();
        Assert.Contains("model.mm_projector.2.weight", keys);
        Assert.DoesNotContain(keys, k => k.Contains("vision_tower"));

        var back = Pretrained.LoadLlava(Path.Combine(root, "llava"), Path.Combine(root, "clip"), Tiny.Cpu, imageTokenId: 4);
        Assert.Equal(llava.Config, back.Config);
        var samples = new[] { new MultimodalSample([1, 4, 7, 8], [Labels.Ignore, Labels.Ignore, 7, 8]) };
        var pixels = randn(1, 3, 16, 16);
        using var _ = no_grad();
        using var a = llava.forward(pixels, samples, outputHiddenStates: true);
        using var b = back.forward(pixels, samples, outputHiddenStates: true);
        Assert.True(Tiny.MaxDiff(a.Output.Logits, b.Output.Logits) == 0);
        Assert.Equal(3, a.Output.HiddenStates!.Count);
        Assert.Equal(a.Loss.item<float>(), b.Loss.item<float>());
    }

    [Fact]
    public void A_wider_projector_keeps_llava_names_and_round_trips()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var cfg = Tiny.Llava() with { ProjectorHidden = 40 };
        var llava = new LlavaModel(cfg, Tiny.Cpu);
        var sd = llava.MmProjector.state_dict();
        Assert.Equal(new long[] { 40, cfg.Vision.HiddenSize }, sd["0.weight"].shape);
        Assert.Equal(new long[] { cfg.Text.HiddenSize, 40 }, sd["2.weight"].shape);
        Assert.Equal(new long[] { cfg.Text.HiddenSize, cfg.Text.HiddenSize }, new LlavaModel(Tiny.Llava(), Tiny.Cpu).MmProjector.state_dict()["2.weight"].shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Projector(8, 8, hidden: 0));

        var root = Path.Combine(Paths.OutDir("tests", "model"), "llava-wide-" + Guid.NewGuid().ToString("N")[..8]);
        Pretrained.SaveLlava(llava, Path.Combine(root, "llava"), Path.Combine(root, "clip"));
        var back = Pretrained.LoadLlava(Path.Combine(root, "llava"), Path.Combine(root, "clip"), Tiny.Cpu, imageTokenId: 4);
        Assert.Equal(cfg, back.Config);
        using var _ = no_grad();
        var pixels = randn(2, 3, 16, 16);
        Assert.True(Tiny.MaxDiff(llava.EncodeImages(pixels), back.EncodeImages(pixels)) == 0);
        // LLaVA's own config (no mm_projector_hidden) builds LLaVA's width.
        Pretrained.SaveLlava(new LlavaModel(Tiny.Llava(), Tiny.Cpu), Path.Combine(root, "plain"), Path.Combine(root, "clip2"));
        Assert.DoesNotContain("mm_projector_hidden", File.ReadAllText(Path.Combine(root, "plain", "config.json")));
        Assert.Null(Pretrained.LoadLlava(Path.Combine(root, "plain"), Path.Combine(root, "clip2"), Tiny.Cpu, imageTokenId: 4).Config.ProjectorHidden);
    }
}
