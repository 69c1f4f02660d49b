using OlaVlm.Model;
using OlaVlm.Ola;
using OlaVlm.Stages;
using OlaVlm.Teachers;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Stages;

/// Tiny random LLaVA (CLIP 16px/4 → 16 patches, LLM hidden 32 × 2 layers) with tiny OLA heads and fake
/// teacher targets, so every stage test runs in about a second.
static class StageFixture
{
    public const long ImageId = 4;

    public static OlaConfig Ola(int taskTokens = 2) => new OlaConfig
    {
        NumTaskTokens = taskTokens, PredictorHeads = 2, PredictorDimHead = 8,
        Specs = new Dictionary<OlaTask, OlaTaskSpec>
        {
            [OlaTask.Depth] = new(OlaTask.Depth, 4, 8, [8, 20]),
            [OlaTask.Seg] = new(OlaTask.Seg, 4, 6, [10, 18]),
            [OlaTask.Gen] = new(OlaTask.Gen, 1, 8, [12, 20]),
        },
    }.Validate();

    public static LlavaModel Llava(long seed = 0)
    {
        manual_seed(seed);
        return new LlavaModel(new LlavaConfig(new ClipVisionConfig(32, 64, 2, 4, ImageSize: 16, PatchSize: 4),
            new LlamaConfig(40, HiddenSize: 32, IntermediateSize: 64, NumLayers: 2, NumHeads: 4, NumKvHeads: 2, RmsNormEps: 1e-5, TieWordEmbeddings: true),
            ImageTokenId: ImageId), CPU);
    }

    /// OLA-VLM (heads) or the baseline (no heads), reproducible from `seed`.
    /// (Under a lock: the global torch generator is shared with test classes running in parallel.)
    public static OlaVlmModel NewModel(bool heads = true, long seed = 0, EmbeddingLossReduction reduction = EmbeddingLossReduction.MaskedBatchMean)
    {
        lock (Seeding)
        {
            var llava = Llava(seed);
            manual_seed(seed + 1000);
            return OlaVlmModel.Create(llava, heads ? Ola() with { LossReduction = reduction } : null);
        }
    }
    static readonly object Seeding = new();

    /// A sample: [bos sys... <image>? prompt... answer... eos], labels on the answer.
    public static MultimodalSample Sample(int i, bool image)
    {
        var rng = new Random(i);
        var prompt = Enumerable.Range(0, 3).Select(_ => (long)rng.Next(5, 40)).ToArray();
        // The answer depends on the prompt, so there is something to learn.
        var answer = prompt.Select(t => 5 + (t * 7) % 35).ToArray();
        var ids = new List<long> { 1, 5, 6 };
        if (image) ids.Add(ImageId);
        ids.AddRange(prompt);
        int start = ids.Count;
        ids.AddRange(answer); ids.Add(2);
        var labels = ids.Select((t, k) => k >= start ? t : Labels.Ignore).ToArray();
        return new MultimodalSample(ids.ToArray(), labels);
    }

    public static InMemoryStageData NewData(int count = 16, double textOnly = 0.0)
    {
        var samples = new List<MultimodalSample>(); var keys = new List<string?>(); var images = new Dictionary<string, Tensor>();
        for (int i = 0; i < count; i++)
        {
            bool img = i >= count * textOnly;
            samples.Add(Sample(i, img));
            if (img) { var k = $"img{i}"; keys.Add(k); images[k] = Image(i); } else keys.Add(null);
        }
        return new InMemoryStageData(samples, keys, images, ImageId);
    }

    public static Tensor Image(int i)
    {
        var g = new Generator((ulong)(i + 1));
        return randn(3, 16, 16, generator: g);
    }

    public static Dictionary<OlaTask, ITargetSource> Targets(OlaConfig? cfg = null)
    {
        cfg ??= Ola();
        return cfg.Tasks.ToDictionary(t => t, t => (ITargetSource)new FakeTargets(t, [cfg.Spec(t).NumTargetTokens, cfg.Spec(t).TargetDim]));
    }

    /// Stands in for a teacher: a fixed function of the image key.
    public sealed class FakeTargets(OlaTask task, long[] shape) : ITargetSource
    {
        public string TeacherName => $"fake-{task.Name()}";
        public string TeacherHash => "fake";
        public long[] TargetShape => shape;
        public Tensor Get(IReadOnlyList<string> ids, Device? device = null) =>
            stack(ids.Select(id => randn(shape, generator: new Generator(StableHash(id) + (ulong)task))).ToArray(), 0).to(device ?? CPU);
        public void Dispose() { }
        static ulong StableHash(string s) => s.Aggregate(1469598103UL, (h, c) => (h ^ c) * 1099511UL) & 0xFFFFFFFFUL;
    }

    public static string RunDir(string name)
    {
        var dir = Path.Combine(Core.Paths.Out, "test-stages", $"{name}-{Guid.NewGuid():N}");
        return dir;
    }

    /// Copy of every parameter, by name.
    public static Dictionary<string, Tensor> Snapshot(nn.Module m) =>
        m.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    public static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}

/// Stage tests seed the global torch generator (model init, Trainer steps); run them alone so parallel test
/// classes neither disturb nor are disturbed by that.
[Xunit.CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTorchCollection { public const string Name = "serial-torch"; }
