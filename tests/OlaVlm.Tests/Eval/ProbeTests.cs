using OlaVlm.Eval;
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
        Assert.Equal(expected, ProbeMetric.MeanCosine(p, t), 5);
        Assert.Equal(1.0, ProbeMetric.MeanCosine(t * 3, t), 5);
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
        var fit = ProbeTrainer.Fit(hidden[..64], targets[..64], new ProbeOptions { Epochs = 30, BatchSize = 16, LearningRate = 3e-3, InnerDim = 32, Heads = 2, DimHead = 16 },
                                   mask[..64], CPU);
        Assert.True(fit.EpochLosses[^1] < fit.EpochLosses[0]);
        double cos = ProbeTrainer.Evaluate(fit.Probe, hidden[64..], targets[64..], mask[64..]);
        Assert.True(cos > 0.95, $"held-out cosine {cos:F3}");
    }
}
