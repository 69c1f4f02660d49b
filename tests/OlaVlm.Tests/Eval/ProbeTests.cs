using OlaVlm.Core;
using OlaVlm.Eval;
using OlaVlm.Model;
using OlaVlm.Ola;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Eval;

public class ProbeTests
{
    [Fact]
    public void CosineMetricMatchesADirectComputation()
    {
        manual_seed(5);
        var p = randn(3, 4, 2); var t = randn(3, 4, 2);
        double expected = 0;
        for (int i = 0; i < 3; i++)
        {
            var a = p[i].flatten().data<float>().ToArray(); var b = t[i].flatten().data<float>().ToArray();
            double dot = 0, na = 0, nb = 0;
            for (int k = 0; k < a.Length; k++) { dot += a[k] * b[k]; na += a[k] * a[k]; nb += b[k] * b[k]; }
            expected += dot / Math.Sqrt(na * nb) / 3;
        }
        Assert.Equal(expected, ProbeMetric.MeanCosine(p, t), 1e-5);
        Assert.Equal(1.0, ProbeMetric.MeanCosine(t * 3, t), 1e-5);
        Assert.ThrowsAny<ArgumentException>(() => ProbeMetric.MeanCosine(p, randn(3, 8)));
    }

    [Fact]
    public void AProbeWhoseInputContainsTheTargetReachesCosineNearOne()
    {
        // Each sample's target is 2 tokens × 6 dims; the "hidden states" are those same tokens with a
        // one-hot position appended (so a query can find its token), plus a padding token that is masked.
        manual_seed(11);
        int n = 96, q = 2, c = 6;
        // Centred per token, like LayerNorm-ed teacher features: the probe ends in a LayerNorm, which
        // cannot reproduce a per-sample mean, so raw Gaussian targets would cap the cosine near 0.93.
        var targets = randn(n, q, c);
        targets = targets - targets.mean([-1], keepdim: true);
        var pos = eye(q).unsqueeze(0).expand(n, q, q);
        var hidden = cat([cat([targets, pos], 2), randn(n, 1, c + q) * 10], 1);    // [n, 3, 8]
        var mask = cat([ones(n, q, dtype: ScalarType.Bool), zeros(n, 1, dtype: ScalarType.Bool)], 1);
        var fit = ProbeTrainer.Fit(hidden[..64], targets[..64], new ProbeOptions { Epochs = 30, BatchSize = 16, LearningRate = 3e-3, InnerDim = 32, Heads = 2, DimHead = 16, AroundMean = false },
                                   mask[..64], CPU);
        Assert.True(fit.EpochLosses[^1] < fit.EpochLosses[0]);
        double cos = ProbeTrainer.Evaluate(fit, hidden[64..], targets[64..], mask[64..]);
        Assert.True(cos > 0.95, $"held-out cosine {cos:F3}");
    }

    [Fact]
    public void A_probe_fit_around_the_mean_starts_at_the_mean_and_the_plain_fit_does_not()
    {
        manual_seed(5);
        // Targets with a large part shared by every sample (as the miniature's depth maps), hidden states of noise.
        var targets = randn(48, 3, 4) * 0.3 + linspace(-2, 2, 12).view(1, 3, 4);
        var hidden = randn(48, 5, 6);
        var before = new ProbeOptions { Epochs = 0, Heads = 2, DimHead = 4 };
        var fit = ProbeTrainer.Fit(hidden[..32], targets[..32], before, device: CPU);
        Assert.NotNull(fit.Mean);
        Assert.Equal(new long[] { 1, 3, 4 }, fit.Mean!.shape);
        // Untrained, it predicts exactly the train mean for every sample: the floor.
        var floor = ProbeMetric.MeanCosine(targets[..32].mean([0], keepdim: true).expand(16, -1, -1), targets[32..]);
        Assert.Equal(floor, ProbeTrainer.Evaluate(fit, hidden[32..], targets[32..]), 1e-5);
        Assert.True(floor > 0.8, $"floor {floor:F3}");
        // The plain fit (the reference's) starts from its random output, far below the floor; no mean is added.
        var plain = ProbeTrainer.Fit(hidden[..32], targets[..32], before with { AroundMean = false }, device: CPU);
        Assert.Null(plain.Mean);
        Assert.True(ProbeTrainer.Evaluate(plain, hidden[32..], targets[32..]) < floor - 0.2);
        // Trained on noise, the fit around the mean stays near the floor (nothing beyond the average to find).
        // (AProbeWhoseInputContainsTheTarget… trains the reference's plain fit; LayerProbingTests the fit around the mean.)
        var trained = ProbeTrainer.Fit(hidden[..32], targets[..32], before with { Epochs = 10, BatchSize = 8 }, device: CPU);
        Assert.InRange(ProbeTrainer.Evaluate(trained, hidden[32..], targets[32..]), floor - 0.05, 1.0);
    }

    // The reference probe head: Resampler(dim=8, depth=2, dim_head=4, heads=2, num_queries=3, embedding_dim=6,
    // output_dim=5, ff_mult=2). Every tensor of its state dict, in ordinal name order p = 0, 1, …, is
    // 0.5·sin(0.7·j + 0.3·p) over its flat index j; the input is 1.5·cos(0.37·j), shape [2, 4, 6].
    // Expected = the reference resampler.py's own output on those weights (PyTorch 1.13, float32).
    static readonly float[] ReferenceProbeOutput =
    [
        -0.348424f, 0.581016f, 0.874095f, 0.258588f, 0.022872f, -0.41417f, 0.409f, 0.791938f, 0.26747f, -0.137909f,
        -0.417054f, 0.319415f, 0.730993f, 0.269324f, -0.225716f, -0.342728f, 0.590111f, 0.877217f, 0.257932f, 0.031173f,
        -0.411896f, 0.422142f, 0.799763f, 0.267028f, -0.125329f, -0.418346f, 0.336073f, 0.743255f, 0.269121f, -0.209332f,
    ];

    static Tensor Formula(long[] shape, int p)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        return (arange(n, dtype: ScalarType.Float64).mul(0.7).add(0.3 * p).sin().mul(0.5)).to_type(ScalarType.Float32).view(shape);
    }

    static Tensor ReferenceInput() => arange(48, dtype: ScalarType.Float64).mul(0.37).cos().mul(1.5).to_type(ScalarType.Float32).view(2, 4, 6);

    /// The reference probe's state dict with formula weights, its keys under `prefix`.
    static Dictionary<string, Tensor> ReferenceStateDict(string prefix)
    {
        using var shapes = new Probe(6, 3, 5, innerDim: 8, heads: 2, dimHead: 4, ffMult: 2, depth: 2, device: CPU);
        var names = shapes.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        return names.Select((k, p) => (k, p)).ToDictionary(x => prefix + x.k, x => Formula(shapes.state_dict()[x.k].shape, x.p));
    }

    [Fact]
    public void ParameterNamesAreTheReferenceResamplersStateDict()
    {
        using var probe = new Probe(6, 3, 5, innerDim: 8, heads: 2, dimHead: 4, ffMult: 2, depth: 2, device: CPU);
        var shapes = probe.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        // Learned latents at the inner width, [1, Q, inner], as nn.Parameter(torch.randn(1, num_queries, dim)).
        Assert.Equal(new long[] { 1, 3, 8 }, shapes["latents"]);
        Assert.Equal(new long[] { 8, 6 }, shapes["proj_in.weight"]);
        Assert.Equal(new long[] { 16, 8 }, shapes["layers.1.0.to_kv.weight"]);
        Assert.Equal(new long[] { 16, 8 }, shapes["layers.1.1.1.weight"]);   // ff_mult 2
        Assert.Equal(new long[] { 5, 8 }, shapes["proj_out.weight"]);
        Assert.Equal(29, shapes.Count);
        Assert.DoesNotContain(shapes.Keys, k => k.StartsWith("layers.2."));
    }

    [Fact]
    public void MatchesTheReferenceResamplerOnFixedWeights()
    {
        using var probe = new Probe(6, 3, 5, innerDim: 8, heads: 2, dimHead: 4, ffMult: 2, depth: 2, device: CPU);
        probe.LoadReference(ReferenceStateDict(""));
        using var _ = no_grad();
        var y = probe.forward(ReferenceInput(), null);
        Assert.Equal(new long[] { 2, 3, 5 }, y.shape);
        var got = y.flatten().data<float>().ToArray();
        for (int i = 0; i < got.Length; i++) Assert.Equal(ReferenceProbeOutput[i], got[i], 1e-5);   // expected printed to 6 decimals
    }

    [Theory]
    [InlineData("probe.safetensors")]
    [InlineData("pytorch_model.bin")]
    public void LoadsAReferenceProbeCheckpointByName(string file)
    {
        // A probe checkpoint as ProbeDSGLlavaLlamaForCausalLM saves it: one head per LLM layer under
        // image_depth_heads.{layer-1}.projector., next to the LLM's own weights. Layer 2's head has the
        // formula weights; layer 1's is constant, so loading the wrong head shows.
        var sd = ReferenceStateDict(Probe.ReferencePrefix(OlaTask.Depth, 2));
        foreach (var (k, v) in ReferenceStateDict(Probe.ReferencePrefix(OlaTask.Depth, 1))) sd[k] = full_like(v, 0.25f);
        sd["lm_head.weight"] = ones(7, 6);
        var dir = Path.Combine(Path.GetTempPath(), "ola-probe-ckpt-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var path = Path.Combine(dir, file);
            if (file.EndsWith(".bin")) PyTorchPickler.PickleStateDict(path, sd);
            else { using var stream = File.Create(path); Safetensors.SaveStateDict(stream, sd); }

            Assert.Equal("image_depth_heads.1.projector.", Probe.ReferencePrefix(OlaTask.Depth, 2));
            using var probe = Probe.FromCheckpoint(path, Probe.ReferencePrefix(OlaTask.Depth, 2), heads: 2, dimHead: 4, device: CPU);
            Assert.Equal((6, 3, 5, 8, 2), (probe.Hidden, probe.NumTargetTokens, probe.TargetDim, probe.InnerDim, probe.Depth));
            using var _ = no_grad();
            var got = probe.forward(ReferenceInput(), null).flatten().data<float>().ToArray();
            for (int i = 0; i < got.Length; i++) Assert.Equal(ReferenceProbeOutput[i], got[i], 1e-5);   // expected printed to 6 decimals

            // heads × dimHead must match to_q; the error names the key.
            var e = Assert.ThrowsAny<ArgumentException>(() => Probe.FromCheckpoint(path, Probe.ReferencePrefix(OlaTask.Depth, 2), heads: 4, dimHead: 32, device: CPU));
            Assert.Contains("layers.0.0.to_q.weight", e.Message);
            // A prefix with no keys names what it looked for.
            var k = Assert.Throws<KeyNotFoundException>(() => Probe.FromCheckpoint(path, Probe.ReferencePrefix(OlaTask.Seg, 2), heads: 2, dimHead: 4, device: CPU));
            Assert.Contains("image_seg_heads.1.projector.latents", k.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void LoadingIsStrictUnderThePrefix()
    {
        var prefix = Probe.ReferencePrefix(OlaTask.Gen, 5);
        var sd = ReferenceStateDict(prefix);
        sd.Remove(prefix + "layers.1.0.to_out.weight");
        sd[prefix + "task_w"] = zeros(1);
        using var probe = new Probe(6, 3, 5, innerDim: 8, heads: 2, dimHead: 4, ffMult: 2, depth: 2, device: CPU);
        var e = Assert.Throws<CheckpointMismatchException>(() => probe.LoadReference(sd, prefix));
        Assert.Contains("layers.1.0.to_out.weight", e.Missing);
        Assert.Contains(prefix + "task_w", e.Unknown[0]);
        // A latents tensor of the old form ([Q, hidden]) is a shape mismatch, not silently reshaped.
        var old = ReferenceStateDict(prefix);
        old[prefix + "latents"] = zeros(3, 6);
        var s = Assert.Throws<CheckpointMismatchException>(() => probe.LoadReference(old, prefix));
        Assert.Equal("latents", Assert.Single(s.ShapeMismatches).Key);
    }

    [Fact]
    public void DepthComesFromTheOptions()
    {
        manual_seed(3);
        var fit = ProbeTrainer.Fit(randn(8, 5, 6), randn(8, 2, 4), new ProbeOptions { Epochs = 1, BatchSize = 4, Depth = 3, Heads = 2, DimHead = 4 }, device: CPU);
        Assert.Equal(3, fit.Probe.Depth);
        var names = fit.Probe.state_dict().Keys.ToList();
        Assert.Contains("layers.2.1.3.weight", names);
        Assert.Equal(new long[] { 1, 2, 4 }, fit.Probe.state_dict()["latents"].shape);   // inner = target dim by default
        fit.Probe.Dispose();
    }
}
