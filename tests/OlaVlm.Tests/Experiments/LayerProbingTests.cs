using OlaVlm.Eval;
using OlaVlm.Experiments;
using OlaVlm.Model;
using OlaVlm.Teachers;
using OlaVlm.Text;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Experiments;

public class LayerProbingTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "ola-probing-" + Guid.NewGuid().ToString("N"));

    public void Dispose() { if (Directory.Exists(dir)) Directory.Delete(dir, true); }

    static ProbeImages Images(int train, int val)
    {
        var g = new Generator(7);
        return new ProbeImages(randn(train, 3, 8, 8, generator: g), randn(val, 3, 8, 8, generator: g));
    }

    [Fact]
    public void TheLayerThatCarriesTheTargetProbesNearOneAndResultsAreCached()
    {
        manual_seed(11);
        using var teacher = new PatchTeacher();
        var model = new TargetCarryingModel(teacher);
        using var images = Images(64, 32);
        var config = new LayerProbingConfig
        {
            TrainImages = 64, ValImages = 32, ExtractBatchSize = 32,
            Probe = new ProbeOptions { Epochs = 20, BatchSize = 16, LearningRate = 3e-3, InnerDim = 32, Heads = 2, DimHead = 16, AroundMean = false },
        };
        var r = LayerProbing.Run(model, [teacher], images, config, CPU, dir);
        var curve = r.Curve("patch");
        Assert.Equal([0, 1, 2], curve.Layers);                          // layer 0: the LLM's input (ProbeInput)
        Assert.True(curve.Cosines[2] > 0.95, $"carrying layer cosine {curve.Cosines[2]:F3}");
        Assert.True(curve.Cosines[1] < 0.5, $"noise layer cosine {curve.Cosines[1]:F3}");
        Assert.True(curve.InputCosine < 0.5, $"input (noise) cosine {curve.InputCosine:F3}");
        Assert.Equal(curve.Cosines[0], curve.InputCosine);
        Assert.Equal(2, curve.BestLayer);
        Assert.Equal((curve.Cosines[1] + curve.Cosines[2]) / 2, curve.MeanCosine, 1e-12);   // the decoder's layers only
        Assert.Equal(3, model.Calls);                                   // 2 train + 1 val batches

        var again = LayerProbing.Run(model, [teacher], images, config, CPU, dir);
        Assert.Equal(3, model.Calls);                                   // nothing recomputed
        Assert.Equal(curve.Cosines, again.Curve("patch").Cosines);
        Assert.Equal([new LayerCosine("carrier", "patch", 0, curve.Cosines[0]), new LayerCosine("carrier", "patch", 1, curve.Cosines[1]),
                      new LayerCosine("carrier", "patch", 2, curve.Cosines[2])], again.Records());

        // A different config (or teacher) is a different cache entry.
        using var other = new PatchTeacher(seed: 4);
        Assert.NotEqual(LayerProbing.CacheFile(dir, model, teacher, images, config), LayerProbing.CacheFile(dir, model, other, images, config));
        Assert.NotEqual(LayerProbing.CacheFile(dir, model, teacher, images, config), LayerProbing.CacheFile(dir, model, teacher, images, config with { ValImages = 16 }));
    }

    [Fact]
    public void The_floor_is_what_predicting_the_mean_target_scores()
    {
        using var teacher = new PatchTeacher();
        using var images = Images(64, 32);
        var config = new LayerProbingConfig { TrainImages = 64, ValImages = 32, ExtractBatchSize = 16 };

        // By hand: the mean of the 64 train targets against each of the 32 val targets, flattened.
        using var yTrain = teacher.Encode(images.TeacherTrain);
        using var yVal = teacher.Encode(images.TeacherVal);
        var m = yTrain.mean([0]).flatten().data<float>().ToArray();
        double byHand = Enumerable.Range(0, 32).Average(i =>
        {
            var v = yVal[i].flatten().data<float>().ToArray();
            double dot = m.Zip(v, (a, b) => (double)a * b).Sum();
            return dot / Math.Sqrt(m.Sum(a => (double)a * a) * v.Sum(b => (double)b * b));
        });
        var floor = LayerProbing.MeanTargetCosine(teacher, images, config);
        Assert.Equal(byHand, floor, 1e-5);
        Assert.InRange(floor, -0.5, 0.5);                       // random images, zero-mean targets: the mean says little

        // Targets that share a large part across images: the mean alone scores near 1, and a probe must be read against it.
        using var shifted = new ShiftedTeacher(teacher, 5.0);
        Assert.True(LayerProbing.MeanTargetCosine(shifted, images, config) > 0.95);

        Assert.Equal(0.5, LayerProbing.Headroom(0.975, 0.95), 1e-12);
        Assert.Equal(0.0, LayerProbing.Headroom(0.95, 0.95), 1e-12);
        Assert.Throws<ArgumentOutOfRangeException>(() => LayerProbing.Headroom(1, 1));
        Assert.Throws<ArgumentException>(() => LayerProbing.MeanTargetCosine(teacher, images, config with { ValImages = 33 }));
    }

    /// A teacher whose targets are another's plus a constant: a common part shared by every image.
    sealed class ShiftedTeacher(ITeacher inner, double shift) : ITeacher
    {
        public string Name => inner.Name + "-shifted";
        public TeacherKind Kind => inner.Kind;
        public long[] TargetShape => inner.TargetShape;
        public Device Device => inner.Device;
        public string WeightsHash => inner.WeightsHash + $"+{shift}";
        public Tensor Encode(Tensor images) { using var y = inner.Encode(images); return y + shift; }
        public Tensor? Decode(Tensor embedding) => null;
        public void Dispose() { }
    }

    [Fact]
    public void LayerSelection()
    {
        Assert.Equal([1, 2, 3, 4], LayerProbingConfig.Full.LayersOf(4));
        Assert.Equal([1, 32], LayerProbingConfig.Quick.LayersOf(32));
        Assert.Equal([1, 17, 32], new LayerProbingConfig { MaxLayers = 3 }.LayersOf(32));
        Assert.Equal([2, 5], new LayerProbingConfig { Layers = [5, 2, 5] }.LayersOf(8));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LayerProbingConfig { Layers = [9] }.LayersOf(8));
    }

    internal static (MllmUnderTest Model, WordTokenizer Tok) TinyMllm(Tensor? taskTokens = null, long seed = 1, string name = "tiny")
    {
        var template = ChatTemplate.Miniature();
        var tok = WordTokenizer.Build([template.System, template.UserPrefix, template.AssistantPrefix, "describe the image . ( a ) ( b ) how many"]);
        var cfg = new LlavaConfig(new ClipVisionConfig(32, 64, 2, 4, ImageSize: 16, PatchSize: 4),
            new LlamaConfig(tok.VocabSize, HiddenSize: 32, IntermediateSize: 64, NumLayers: 3, NumHeads: 4, NumKvHeads: 2, RmsNormEps: 1e-5, TieWordEmbeddings: true),
            tok.ImageId);
        manual_seed(seed);
        var model = new LlavaModel(cfg, CPU);
        return (new MllmUnderTest(model, tok, template, taskTokens, name) { MaxNewTokens = 3 }, tok);
    }

    [Fact]
    public void RealMllmGivesAllTokensOfEveryLayerAndAnswers()
    {
        var (m, _) = TinyMllm();
        using var pixels = randn(2, 3, 16, 16);
        var promptLen = m.PromptIds("<image>\nDescribe the image.").Length;
        using (var s = m.HiddenStates(pixels, "<image>\nDescribe the image."))
        {
            Assert.Equal(3, s.Layers.Count);
            Assert.All(s.Layers, l => Assert.Equal(new long[] { 2, promptLen - 1 + 16, 32 }, l.shape));
            Assert.Equal(new long[] { 2, promptLen - 1 + 16, 32 }, s.Input!.shape);   // layer 0: what enters layer 1
            Assert.False(s.Input.allclose(s.Layers[0]));
            Assert.Null(s.Mask);
        }
        var (withTokens, _) = TinyMllm(randn(4, 32));
        using (var s = withTokens.HiddenStates(pixels, "<image>\nDescribe the image."))
            Assert.Equal(promptLen - 1 + 16 + 4, s.Layers[0].shape[1]);
        Assert.NotEqual(m.Hash, withTokens.Hash);
        Assert.Equal(m.Hash, MllmUnderTest.WeightsHash(m.Model));         // recomputed from the weights
        using (no_grad()) m.Model.MmProjector.parameters().First().add_(1e-3f);
        Assert.NotEqual(m.Hash, MllmUnderTest.WeightsHash(m.Model));      // (Hash itself is computed once)

        var replies = m.Answer(["<image>\nhow many ?", "how many ?"], pixels[..1]);
        Assert.Equal(2, replies.Count);
    }

    [Fact]
    public void ProbingARealTinyMllmRunsEndToEnd()
    {
        var (m, _) = TinyMllm(randn(2, 32));
        using var teacher = new PatchTeacher();
        var g = new Generator(2);
        using var tr = randn(8, 3, 16, 16, generator: g);
        using var va = randn(4, 3, 16, 16, generator: g);
        // The patch teacher reads 8×8 images: the teachers get their own copy of the images at their size.
        using var images = new ProbeImages(tr, va, nn.functional.avg_pool2d(tr, 2), nn.functional.avg_pool2d(va, 2));
        var r = LayerProbing.Run(m, [teacher], images, LayerProbingConfig.Quick with { MaxLayers = 3, TrainImages = 8, ValImages = 4, Probe = new ProbeOptions { Epochs = 1, BatchSize = 4 } }, CPU, dir);
        Assert.Equal([0, 1, 2, 3], r.Curves[0].Layers);
        Assert.All(r.Curves[0].Cosines, c => Assert.InRange(c, -1.0, 1.0));
        Assert.Equal(m.Hash, r.ModelHash);
    }

    [Fact]
    public void ProbingTheInputNeedsASourceThatGivesItOrSaysSo()
    {
        using var teacher = new PatchTeacher();
        var model = new InputlessModel(new TargetCarryingModel(teacher));
        using var images = Images(8, 4);
        var config = new LayerProbingConfig { TrainImages = 8, ValImages = 4, Probe = new ProbeOptions { Epochs = 1, BatchSize = 4 } };
        var e = Assert.Throws<InvalidOperationException>(() => LayerProbing.Run(model, [teacher], images, config, CPU, dir));
        Assert.Contains("layer 0", e.Message);
        Assert.Contains("ProbeInput", e.Message);
        var r = LayerProbing.Run(model, [teacher], images, config with { ProbeInput = false }, CPU, dir);
        Assert.Equal([1, 2], r.Curve("patch").Layers);
        Assert.Null(r.Curve("patch").InputCosine);
    }

    /// A source that gives its layers but not the LLM's input.
    sealed class InputlessModel(IHiddenStateSource inner) : IHiddenStateSource
    {
        public string Name => "inputless";
        public string Hash => "inputless-v1";
        public int NumLayers => inner.NumLayers;
        public int ImageSize => inner.ImageSize;
        public LayerStates HiddenStates(Tensor pixels, string prompt)
        {
            var s = inner.HiddenStates(pixels, prompt);
            s.Input?.Dispose();
            return s with { Input = null };
        }
    }
}
