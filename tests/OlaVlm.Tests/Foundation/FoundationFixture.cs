using OlaVlm.Core;
using OlaVlm.Data;
using OlaVlm.Foundation;
using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.World;

namespace OlaVlm.Tests.Foundation;

/// One tiny world (built once per test run under out/tests/foundation) and a foundation config small
/// enough that training both models takes about a second.
public static class FoundationFixture
{
    public static readonly WorldConfig TinyWorld = WorldConfig.Quick with { PtScenes = 40, IftScenes = 24, ValScenes = 12, BenchItems = 12 };

    static readonly Lazy<WorldData> _world = new(() => MiniWorld.Build(TinyWorld, Path.Combine(Paths.OutDir("tests", "foundation"), "world-" + MiniWorld.ConfigHash(TinyWorld))));
    public static WorldData World => _world.Value;

    public static WordTokenizer Tokenizer => WorldTokenizer.Build(ChatTemplate.Miniature());

    public static readonly FoundationConfig Tiny = new()
    {
        Vision = new ClipVisionConfig(32, 64, 2, 2, ImageSize: 64, PatchSize: 8),
        TextHidden = 32, TextLayers = 1, TextHeads = 2, ProjectionDim = 32,
        ClipSteps = 6, ClipBatch = 8,
        LlmHidden = 32, LlmIntermediate = 64, LlmLayers = 1, LlmHeads = 2, LlmKvHeads = 1,
        LlmSteps = 6, LlmBatch = 4, LlmSeqLen = 32, LlmValWindows = 4, LogEvery = 2,
        ReasoningSteps = 4, ReasoningOneHopSteps = 2, ReasoningBatch = 2, ReasoningTurns = 1, OracleItems = 4,
    };

    public static string TempDir(string name)
    {
        var d = Path.Combine(Paths.OutDir("tests", "foundation"), name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }
}
