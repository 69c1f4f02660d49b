using Xunit.Abstractions;

namespace OlaVlm.Tests.Model;

/// The paper's full-size models read from their config.json (Fixtures/Llm/full/*/config.json, the published
/// checkpoints' configs) have exactly the parameter names and shapes transformers v4.41.1 builds from the same
/// config (manifest.json, written by environment/fixtures/llms_phi3_llama3_clip.py on the meta device).
/// Serial: MetaLayout builds on the meta device through torch's process-wide default device.
[Collection(SerialCollection.Name)]
public class FullSizeLayoutTests(ITestOutputHelper output)
{
    static string Full(string name) => LlmReferenceFixtureTests.Fixture(Path.Combine("full", name));

    static SortedDictionary<string, long[]> Manifest(string name) => MetaLayout.ReadManifest(Path.Combine(Full(name), "manifest.json"));

    [Fact]
    public void FullSizeConfigsGiveTheRealCheckpointsNamesAndShapes()
    {
        var phi3 = LlamaConfig.FromHfJson(Pretrained.ReadConfig(Full("phi3_mini_4k")), "phi3 config.json");
        Assert.Equal(Phi3Config.Mini4k(), phi3);
        var phi3Shapes = MetaLayout.Shapes(d => new LlamaForCausalLM(phi3, d, initialize: false));
        MetaLayout.AssertSame(Manifest("phi3_mini_4k"), Phi3Weights.FusedShapes(phi3Shapes.Select(kv => (kv.Key, kv.Value))), "Phi-3-mini-4k", output);

        var llama = LlamaConfig.FromHfJson(Pretrained.ReadConfig(Full("llama3_8b")), "llama3 config.json");
        Assert.Equal(LlamaConfig.Llama3_8B(), llama);
        MetaLayout.AssertSame(Manifest("llama3_8b"), MetaLayout.Shapes(d => new LlamaForCausalLM(llama, d, initialize: false)), "Llama-3-8B", output);

        var clip = Pretrained.ReadClipVisionConfig(Full("clip_vit_l14_336"));
        Assert.Equal(ClipVisionConfig.VitL14_336(), clip);
        MetaLayout.AssertSame(Manifest("clip_vit_l14_336"), MetaLayout.Shapes(d => new ClipVisionModel(clip, d)), "CLIP ViT-L/14-336 vision", output);
    }
}
