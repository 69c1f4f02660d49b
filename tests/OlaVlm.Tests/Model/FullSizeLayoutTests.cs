using System.Text.Json.Nodes;
using OlaVlm.Core;
using OlaVlm.Model;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Model;

/// The paper's full-size models read from their config.json (Fixtures/Llm/full/*/config.json, the published
/// checkpoints' configs) have exactly the parameter names and shapes transformers v4.41.1 builds from the same
/// config (manifest.json, written by environment/fixtures/llms_phi3_llama3_clip.py on the meta device).
/// Serial: the C# models are built on the meta device through torch's process-wide default device.
[Collection(SerialCollection.Name)]
public class FullSizeLayoutTests(ITestOutputHelper output)
{
    static string Full(string name) => LlmReferenceFixtureTests.Fixture(Path.Combine("full", name));

    /// Parameter names and shapes of a model built on the meta device: no weights are allocated.
    static SortedDictionary<string, long[]> MetaShapes(Func<Device, nn.Module> build)
    {
        var old = get_default_device();
        set_default_device(META);
        try
        {
            using var m = build(META);
            var sd = m.state_dict();
            Assert.All(sd.Values, t => Assert.Equal(DeviceType.META, t.device_type));
            return new(sd.ToDictionary(kv => kv.Key, kv => kv.Value.shape), StringComparer.Ordinal);
        }
        finally { set_default_device(old); }
    }

    static SortedDictionary<string, long[]> Manifest(string name) =>
        new(JsonNode.Parse(File.ReadAllText(Path.Combine(Full(name), "manifest.json")))!.AsObject()
            .ToDictionary(kv => kv.Key, kv => kv.Value!.AsArray().Select(x => x!.GetValue<long>()).ToArray()), StringComparer.Ordinal);

    void AssertSameLayout(string name, SortedDictionary<string, long[]> expected, SortedDictionary<string, long[]> actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (k, s) in expected) Assert.True(s.SequenceEqual(actual[k]), $"{name} {k}: transformers {Checked.Fmt(s)}, C# {Checked.Fmt(actual[k])}");
        output.WriteLine($"{name}: {actual.Count} tensors, {actual.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)):N0} parameters, as transformers builds them");
    }

    [Fact]
    public void FullSizeConfigsGiveTheRealCheckpointsNamesAndShapes()
    {
        var phi3 = LlamaConfig.FromHfJson(Pretrained.ReadConfig(Full("phi3_mini_4k")), "phi3 config.json");
        Assert.Equal(Phi3Config.Mini4k(), phi3);
        AssertSameLayout("Phi-3-mini-4k", Manifest("phi3_mini_4k"),
            Phi3Weights.FusedShapes(MetaShapes(d => new LlamaForCausalLM(phi3, d, initialize: false)).Select(kv => (kv.Key, kv.Value))));

        var llama = LlamaConfig.FromHfJson(Pretrained.ReadConfig(Full("llama3_8b")), "llama3 config.json");
        Assert.Equal(LlamaConfig.Llama3_8B(), llama);
        AssertSameLayout("Llama-3-8B", Manifest("llama3_8b"), MetaShapes(d => new LlamaForCausalLM(llama, d, initialize: false)));

        var clip = Pretrained.ReadClipVisionConfig(Full("clip_vit_l14_336"));
        Assert.Equal(ClipVisionConfig.VitL14_336(), clip);
        AssertSameLayout("CLIP ViT-L/14-336 vision", Manifest("clip_vit_l14_336"), MetaShapes(d => new ClipVisionModel(clip, d)));
    }

}
