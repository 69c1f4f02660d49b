using OlaVlm.Ola;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Ola;

public class EmbeddingLossTests
{
    static double SmoothL1(double d) => Math.Abs(d) < 1 ? 0.5 * d * d : Math.Abs(d) - 0.5;

    [Fact]
    public void TermsMatchADirectComputationOverImageSamplesOnly()
    {
        manual_seed(1);
        var preds = randn(4, 2, 3) * 2; var targets = randn(4, 2, 3);
        preds[1] = float.NaN;                         // a text-only row may hold anything
        var hasImage = tensor(new[] { true, false, true, true });
        var s = tensor(0.7f);
        var terms = EmbeddingLoss.Compute(preds, targets, hasImage, s);

        int[] rows = [0, 2, 3];
        var p = rows.Select(r => preds[r].flatten().data<float>().Select(v => (double)v).ToArray()).ToArray();
        var t = rows.Select(r => targets[r].flatten().data<float>().Select(v => (double)v).ToArray()).ToArray();
        double sl1 = p.Zip(t).SelectMany(x => x.First.Zip(x.Second, (a, b) => SmoothL1(a - b))).Average();
        static double[] Unit(double[] v) { var n = Math.Sqrt(v.Sum(x => x * x)); return v.Select(x => x / n).ToArray(); }
        var pu = p.Select(Unit).ToArray(); var tu = t.Select(Unit).ToArray();
        double scale = Math.Exp(0.7), nce = 0;
        for (int i = 0; i < 3; i++)
        {
            var logits = tu.Select(tj => scale * pu[i].Zip(tj, (a, b) => a * b).Sum()).ToArray();
            nce += -logits[i] + Math.Log(logits.Sum(Math.Exp));
        }
        nce /= 3;
        Assert.Equal(sl1, terms.SmoothL1.item<float>(), 5);
        Assert.Equal(nce, terms.InfoNce.item<float>(), 5);
        Assert.Equal(0.5 * (sl1 + 0.3 * nce), terms.Weighted(0.5, 0.3).item<float>(), 5);
    }

    [Fact]
    public void NoImageSamplesGiveExactlyZero()
    {
        var preds = randn(2, 3, 4); preds[0] = float.NaN;
        var terms = EmbeddingLoss.Compute(preds, randn(2, 3, 4), tensor(new[] { false, false }), tensor(2f));
        Assert.Equal(0f, terms.SmoothL1.item<float>());
        Assert.Equal(0f, terms.InfoNce.item<float>());
        Assert.Equal(0f, terms.Weighted(0.5, 0.3).item<float>());
    }

    [Fact]
    public void ScaleClampsAt100AndStopsItsGradient()
    {
        Assert.Equal(100f, EmbeddingLoss.Scale(tensor(10f)).item<float>());
        Assert.Equal(MathF.Exp(2f), EmbeddingLoss.Scale(tensor(2f)).item<float>(), 4);
        manual_seed(2);
        var p = randn(3, 5); var t = randn(3, 5);
        var s = tensor(10f).requires_grad_(true);
        var clamped = EmbeddingLoss.InfoNce(p, t, s);
        // Same as a fixed multiplier of exactly 100.
        var logits = mm(nn.functional.normalize(p, dim: -1), nn.functional.normalize(t, dim: -1).t()) * 100;
        var direct = nn.functional.cross_entropy(logits, arange(3));
        Assert.Equal(direct.item<float>(), clamped.item<float>(), 4);
        clamped.backward();
        Assert.Equal(0f, s.grad!.item<float>());
        var s2 = tensor(2f).requires_grad_(true);
        EmbeddingLoss.InfoNce(p, t, s2).backward();
        Assert.NotEqual(0f, s2.grad!.item<float>());
    }

    [Fact]
    public void MismatchedShapesThrow()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => EmbeddingLoss.Compute(randn(2, 3), randn(2, 4), tensor(new[] { true, true }), null));
        Assert.Contains("[2, 4]", e.Message);
    }
}
