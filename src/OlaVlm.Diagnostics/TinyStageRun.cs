using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// A tiny PT stage (a random LLaVA with OLA-VLM heads, synthetic samples, images and teacher targets) trained in a
/// folder through Stages.Stage.Run, as the notebooks train: what the fault-injection tests run in a child process,
/// kill at chosen moments and run again. Everything is a function of the options, so a run killed anywhere and
/// resumed must end with the same losses and weights as one run straight through (Result).
public static class TinyStageRun
{
    /// Width: the LLM's hidden size (a wider model makes checkpoint writes longer, a larger target for a kill).
    public sealed record Options(int Steps = 12, int CheckpointEvery = 0, int Width = 32, int Samples = 24, int BatchSize = 4);

    const long ImageId = 4;

    /// Trains (or resumes) the stage in `dir`; `say` hears "step N" after every step. Returns the result: the loss
    /// column of metrics.jsonl with round-trip precision and the SHA-256 of the trained weights' bytes.
    public static JsonObject Run(string dir, Options o, Action<string> say)
    {
        using var model = NewModel(o.Width);
        var cfg = new StageConfig
        {
            Kind = StageKind.Pretrain, Steps = o.Steps, BatchSize = o.BatchSize, ProjectorLr = 2e-3, OlaLr = 2e-3,
            WarmupRatio = 0.1, LogEvery = 1, CheckpointEvery = o.CheckpointEvery, Seed = 5,
        };
        var specs = model.Heads!.Config.Specs;
        var targets = model.Heads.Config.Tasks.ToDictionary(t => t, t => (ITargetSource)new Targets(t, [specs[t].NumTargetTokens, specs[t].TargetDim]));
        var r = Stage.Run(model, cfg, Data(o.Samples), targets, Path.Combine(dir, "pt"), progress: new Steps(say), title: "tiny", log: say);
        var result = new JsonObject
        {
            ["loss"] = new JsonArray(MetricsLog.Column(r.Metrics, "loss").Select(v => (JsonNode)v.ToString("R", CultureInfo.InvariantCulture)).ToArray()),
            ["steps"] = new JsonArray(MetricsLog.Column(r.Metrics, "step").Select(v => (JsonNode)(int)v).ToArray()),
            ["weights"] = WeightsHash(model),
        };
        return result;
    }

    static OlaVlmModel NewModel(int width)
    {
        manual_seed(11).Dispose();
        var llava = new LlavaModel(new LlavaConfig(new ClipVisionConfig(32, 64, 2, 4, ImageSize: 16, PatchSize: 4),
            new LlamaConfig(40, HiddenSize: width, IntermediateSize: 2 * width, NumLayers: 2, NumHeads: 4, NumKvHeads: 2, RmsNormEps: 1e-5,
                            TieWordEmbeddings: true), ImageTokenId: ImageId), CPU);
        manual_seed(12).Dispose();
        var ola = new OlaConfig
        {
            NumTaskTokens = 2, PredictorHeads = 2, PredictorDimHead = 8, PaperNumLayers = 2,
            Specs = new Dictionary<OlaTask, OlaTaskSpec>
            {
                [OlaTask.Depth] = new(OlaTask.Depth, 4, 8, [1]), [OlaTask.Seg] = new(OlaTask.Seg, 4, 6, [2]), [OlaTask.Gen] = new(OlaTask.Gen, 1, 8, [2]),
            },
        };
        return OlaVlmModel.Create(llava, ola);
    }

    /// Samples whose answer is a function of the prompt, each with an image (a fixed random picture per sample).
    static InMemoryStageData Data(int count)
    {
        var samples = new List<MultimodalSample>(); var keys = new List<string?>(); var images = new Dictionary<string, Tensor>();
        for (int i = 0; i < count; i++)
        {
            var rng = new Random(i);
            var prompt = Enumerable.Range(0, 3).Select(_ => (long)rng.Next(5, 40)).ToArray();
            var ids = new List<long> { 1, 5, ImageId };
            ids.AddRange(prompt);
            int start = ids.Count;
            ids.AddRange(prompt.Select(t => 5 + (t * 7) % 35)); ids.Add(2);
            samples.Add(new MultimodalSample(ids.ToArray(), ids.Select((t, k) => k >= start ? t : Labels.Ignore).ToArray()));
            keys.Add($"img{i}");
            images[$"img{i}"] = randn(3, 16, 16, generator: new Generator((ulong)(i + 1)));
        }
        return new InMemoryStageData(samples, keys, images, ImageId);
    }

    static string WeightsHash(nn.Module m)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, t) in m.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            using var c = t.detach().cpu().contiguous();
            sha.AppendData(c.bytes);
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    /// Stands in for a teacher: a fixed function of the image key.
    sealed class Targets(OlaTask task, long[] shape) : ITargetSource
    {
        public string TeacherName => $"tiny-{task}";
        public string TeacherHash => "tiny";
        public long[] TargetShape => shape;
        public Tensor Get(IReadOnlyList<string> ids, Device? device = null) =>
            stack(ids.Select(id => randn(shape, generator: new Generator(Stable(id) + (ulong)task))).ToArray(), 0).to(device ?? CPU);
        public void Dispose() { }
        static ulong Stable(string s) => s.Aggregate(1469598103UL, (h, c) => (h ^ c) * 1099511UL) & 0xFFFFFFFFUL;
    }

    /// One line per step, flushed: a parent process reads them to decide when to kill.
    sealed class Steps(Action<string> say) : IProgressReporter
    {
        public void Start(int total, string title) => say($"start {title} {total}");
        public void Report(int step, string text) => say($"step {step}");
        public void Finish(string text) => say($"finish {text}");
    }
}
