using OlaVlm.Core;
using OlaVlm.Foundation;

namespace OlaVlm.Tests.Foundation;

/// Shipped foundations (data/foundation): copied with their logs and SHA-256, verified before use, and the
/// reasoning phase with its text-oracle score recorded beside the weights.
[Collection(SerialCollection.Name)]
public class ShippingTests
{
    /// The default profile must load what data/foundation ships, not retrain it for half an hour: a change to a
    /// config record's JSON (a new property, a computed one) is caught here, not by a main job that retrains.
    [Fact]
    public void TheShippedFoundationIsTheDefaultProfiles()
    {
        Assert.Null(FoundationModels.ShippedMismatch(new WorldConfig(), new FoundationConfig()));
    }

    [Fact]
    public void ShippedFoundationVerifiesAndDetectsAnEditedFile()
    {
        var dir = FoundationFixture.TempDir("ship-src");
        using var m = FoundationModels.LoadOrTrain(FoundationFixture.World, FoundationFixture.Tiny, Devices.Default, dir: dir);
        Assert.True(m.TrainedNow);
        Assert.NotNull(m.Oracle);
        Assert.Equal(4, m.Oracle!.Items);
        Assert.InRange(m.Oracle.Accuracy, 0, 1);
        Assert.Equal(2, m.ReasoningCurve.Count);   // 4 steps logged every 2

        var shipped = FoundationModels.Ship(m, FoundationFixture.TempDir("ship-dst"));
        Assert.Null(FoundationModels.VerifyHashes(shipped));
        Assert.True(File.Exists(Path.Combine(shipped, "llm", "reasoning", "metrics.jsonl")));
        // Weights, configs, tokenizer and logs only: no optimizer checkpoints.
        var files = Directory.GetFiles(shipped, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(shipped, f).Replace('\\', '/')).Order().ToList();
        Assert.Equal(new[] { "clip/config.json", "clip/model.safetensors", "clip/run/metrics.jsonl", "foundation.json", "llm/config.json",
                             "llm/model.safetensors", "llm/reasoning/metrics.jsonl", "llm/run/metrics.jsonl", "tokenizer.json" }, files);

        // The shipped folder loads like a cache folder: same weights, same oracle record.
        using (var again = FoundationModels.LoadOrTrain(FoundationFixture.World, FoundationFixture.Tiny, Devices.Default, dir: shipped))
        {
            Assert.False(again.TrainedNow);
            Assert.Equal(m.Oracle.Accuracy, again.Oracle!.Accuracy);
        }

        var weights = Path.Combine(shipped, "llm", "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(weights, bytes);
        var why = FoundationModels.VerifyHashes(shipped);
        Assert.NotNull(why);
        Assert.Contains("llm/model.safetensors", why);
    }

    [Fact]
    public void InvalidReasoningScheduleIsRejectedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => (FoundationFixture.Tiny with { ReasoningOneHopSteps = 9 }).Validate());
        Assert.Contains("ReasoningOneHopSteps", e.Message);
    }
}
