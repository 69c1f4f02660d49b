using OlaVlm.Core;
using OlaVlm.Model;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Model;

/// The decoders and the CLIP tower against Hugging Face transformers v4.41.1 (the version OLA-VLM pins), run on
/// tiny random weights by environment/fixtures/llms_phi3_llama3_clip.py. Each fixture folder is an HF directory
/// (config.json + model.safetensors in transformers' own names and layout) plus expected.safetensors with the
/// inputs and transformers' outputs. Tolerance: 1e-4 absolute in fp32.
public class LlmReferenceFixtureTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;
    public static string Fixture(string name) => TestFiles.Fixture("Llm", name);

    static Dictionary<string, Tensor> Expected(string name) => Checkpoint.Read(Path.Combine(Fixture(name), "expected.safetensors"));

    double Check(string what, Tensor actual, Tensor expected)
    {
        Assert.Equal(expected.shape, actual.shape);
        double err = (actual.to(ScalarType.Float32) - expected.to(ScalarType.Float32)).abs().max().item<float>();
        output.WriteLine($"{what}: max |C# − transformers| = {err:E2}");
        Assert.True(err <= Tolerance, $"{what}: max error {err:E2} > {Tolerance:E0}");
        return err;
    }

    static LlamaForCausalLM Load(string name)
    {
        var lm = Pretrained.LoadCausalLm(Fixture(name), CPU, ScalarType.Float32);
        lm.eval();
        return lm;
    }

    void CheckDecoder(string tag, LlamaForCausalLM lm, Dictionary<string, Tensor> e, string prefix = "", Tensor? mask = null, Tensor? positions = null)
    {
        using var _ = no_grad();
        using var o = lm.forward(e[prefix + "input_ids"], attentionMask: mask, positionIds: positions, outputHiddenStates: true);
        Check($"{tag} logits", o.Logits, e[prefix + "logits"]);
        Check($"{tag} hidden states (embeddings, layer 1, final norm)", stack(o.HiddenStates!.ToArray()), e[prefix + "hidden_states"]);
    }

    [Fact]
    public void Phi3WithSlidingWindowMatchesTransformers()
    {
        using var scope = NewDisposeScope();
        var lm = Load("phi3_window");
        Assert.Equal(5, lm.Config.SlidingWindow);
        var e = Expected("phi3_window");
        CheckDecoder("phi3 window 5, 14 tokens", lm, e);

        // The window is live: without it, positions past the window get other logits.
        using var _ = no_grad();
        var full = new LlamaForCausalLM(lm.Config with { SlidingWindow = null }, CPU, initialize: false);
        full.load_state_dict(lm.state_dict());
        full.eval();
        var ids = e["input_ids"];
        double early = (full.forward(ids).Logits[.., ..6] - lm.forward(ids).Logits[.., ..6]).abs().max().item<float>();
        double late = (full.forward(ids).Logits[.., 6..] - lm.forward(ids).Logits[.., 6..]).abs().max().item<float>();
        Assert.True(early < 1e-5 && late > 1e-2, $"window effect: first 6 positions {early:E1}, later {late:E1}");
    }

    [Fact]
    public void Phi3GreedyGenerationAcrossTheWindowMatchesTransformersWithAndWithoutCache()
    {
        using var scope = NewDisposeScope();
        var lm = Load("phi3_window");
        var e = Expected("phi3_window");
        var reference = e["greedy"].data<long>().ToArray();
        foreach (var useCache in new[] { true, false })
        {
            var got = Generation.Generate(lm, e["input_ids"], null, null, new GenerationOptions(MaxNewTokens: 8, UseCache: useCache));
            Assert.Equal(reference, got.SelectMany(r => r).ToArray());
        }
        output.WriteLine($"14-token prompts + 8 greedy tokens, window 5: identical to transformers with and without the KV cache");
    }

    [Fact]
    public void Phi3LongRopeMatchesTransformersInBothFactorRegimes()
    {
        using var scope = NewDisposeScope();
        var lm = Load("phi3_longrope");
        Assert.True(lm.Config.TieWordEmbeddings);
        Assert.Equal(8, lm.Config.RopeScaling!.OriginalMaxPositionEmbeddings);
        var e = Expected("phi3_longrope");
        CheckDecoder("phi3 longrope, 6 tokens (short factors)", lm, e, "short_");
        CheckDecoder("phi3 longrope, 13 tokens (long factors)", lm, e, "long_");
        // The same first 6 tokens give other logits once the sequence passes the original context: both regimes ran.
        double regime = (e["long_logits"][.., ..6] - e["short_logits"]).abs().max().item<float>();
        Assert.True(regime > 1e-2, $"short vs long regime differ by only {regime:E1}");
    }

    [Fact]
    public void Llama3WithGqaAndLeftPaddingMatchesTransformers()
    {
        using var scope = NewDisposeScope();
        var lm = Load("llama3_gqa");
        Assert.Equal((4, 2, 500000.0), (lm.Config.NumHeads, lm.Config.NumKvHeads, lm.Config.RopeTheta));
        var e = Expected("llama3_gqa");
        using (no_grad())
        {
            using var o = lm.forward(e["input_ids"], attentionMask: e["attention_mask"], positionIds: e["position_ids"], outputHiddenStates: true);
            // Padded query rows attend nothing real; their outputs are meaningless, so only real tokens are compared.
            Check("llama3 row 0 logits", o.Logits[0], e["logits"][0]);
            Check("llama3 row 1 (left-padded by 3) logits", o.Logits[1, 3..], e["logits"][1, 3..]);
            Check("llama3 hidden states row 0", stack(o.HiddenStates!.ToArray())[.., 0], e["hidden_states"][.., 0]);
            // Positions derived from the mask (LlamaModel's default) are the ones transformers was given.
            using var o2 = lm.forward(e["input_ids"], attentionMask: e["attention_mask"]);
            Check("llama3 row 1 logits, positions from the mask", o2.Logits[1, 3..], e["logits"][1, 3..]);
        }
        var reference = e["greedy"].data<long>().ToArray();
        foreach (var useCache in new[] { true, false })
            Assert.Equal(reference, Generation.Generate(lm, e["greedy_input_ids"], null, null, new GenerationOptions(MaxNewTokens: 8, UseCache: useCache))[0]);
    }

    [Fact]
    public void ClipVit336PenultimatePatchesAndPooledOutputMatchTransformers()
    {
        using var scope = NewDisposeScope();
        var tower = Pretrained.LoadClipVision(Fixture("clip_vit_336"), CPU, ScalarType.Float32);
        tower.eval();
        Assert.Equal(576, tower.Config.NumPatches);   // 336 / 14 = 24 → a 24 × 24 grid, LLaVA's 576 image tokens
        var e = Expected("clip_vit_336");
        var pixels = e["pixel_values"].to(ScalarType.Float32);
        using var _ = no_grad();
        Check("clip layer −2 patch features [1, 576, 32]", tower.forward(pixels), e["penultimate_patches"]);
        var states = tower.VisionModel.HiddenStates(pixels);
        Check("clip last hidden state", states[^1], e["last_hidden_state"]);
        Check("clip pooled output", tower.VisionModel.Pool(states[^1]), e["pooler_output"]);
    }
}
