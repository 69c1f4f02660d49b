using OlaVlm.Ola;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Ola;

public class EmbeddingLossTests
{
    static double SmoothL1(double d) => Math.Abs(d) < 1 ? 0.5 * d * d : Math.Abs(d) - 0.5;

    /// A batch of 4, 6 tokens × 40 dims, sample 3 text-only. Flattened, each sample has 240 elements in
    /// four blocks of 60; target b is 1 on block b, 0 elsewhere (sample 3's target stands for whatever the
    /// teacher gives a text-only sample). Predictions: 1.5, 3.0, 2.5 on their own block (samples 0-2), and
    /// 0.5 on blocks 0 and 3 (sample 3). Logit scale s = ln 4, so the multiplier is 4.
    static (Tensor Preds, Tensor Targets, Tensor HasImage, Tensor S) HandBatch()
    {
        var t = zeros(4, 240); var p = zeros(4, 240);
        for (int b = 0; b < 4; b++) t[b, (60 * b)..(60 * b + 60)] = 1f;
        p[0, 0..60] = 1.5f; p[1, 60..120] = 3.0f; p[2, 120..180] = 2.5f;
        p[3, 0..60] = 0.5f; p[3, 180..240] = 0.5f;
        return (p.view(4, 6, 40), t.view(4, 6, 40), tensor(new[] { true, true, true, false }), tensor((float)Math.Log(4.0)));
    }

    // By hand. Smooth-L1 (β = 1) per element: |0.5| → 0.125, |2| → 1.5, |1.5| → 1.0, so the image rows sum to
    // 60·0.125 + 60·1.5 + 60·1.0 = 157.5 (sample 3 would add 60·0.125 + 60·0.125 = 15).
    const double Sl1ImageRows = 157.5 / (3 * 240);            // 0.21875: mean over image rows only
    const double Sl1WholeBatch = 157.5 / (4 * 240);           // 0.1640625 = 3/4 of it: mean over all rows
    // InfoNCE. Rows 0-2 point exactly at their own target and are orthogonal to the others: logits 4 at
    // the label, 0 elsewhere. Row 3 has cosine 1/√2 with targets 0 and 3 and 0 with targets 1, 2.
    static readonly double RowImage4 = Math.Log(1 + 3 * Math.Exp(-4));               // row 0-2 over 4 targets
    static readonly double RowImage3 = Math.Log(1 + 2 * Math.Exp(-4));               // … over the 3 image targets
    static readonly double RowText = Math.Log(2 + 2 * Math.Exp(-4 / Math.Sqrt(2)));  // row 3 (label 3)

    [Fact]
    public void MaskedBatchMeanByHand()
    {
        var (p, t, m, s) = HandBatch();
        var terms = EmbeddingLoss.Compute(p, t, m, s);   // the default
        Assert.Equal(Sl1WholeBatch, terms.SmoothL1.item<float>(), 1e-6);
        Assert.Equal(0.75 * Sl1ImageRows, terms.SmoothL1.item<float>(), 1e-6);
        // Text-only row stays in the softmax as a negative; its own loss is masked; mean over B = 4.
        Assert.Equal(3 * RowImage4 / 4, terms.InfoNce.item<float>(), 1e-6);
        Assert.Equal(0.5 * (Sl1WholeBatch + 0.3 * 3 * RowImage4 / 4), terms.Weighted(0.5, 0.3).item<float>(), 1e-6);
    }

    [Fact]
    public void ImageSamplesOnlyByHand()
    {
        var (p, t, m, s) = HandBatch();
        var terms = EmbeddingLoss.Compute(p, t, m, s, reduction: EmbeddingLossReduction.ImageSamplesOnly);
        Assert.Equal(Sl1ImageRows, terms.SmoothL1.item<float>(), 1e-6);
        Assert.Equal(RowImage3, terms.InfoNce.item<float>(), 1e-6);
    }

    [Fact]
    public void ReleasedBroadcastByHand()
    {
        var (p, t, m, s) = HandBatch();
        var terms = EmbeddingLoss.Compute(p, t, m, s, reduction: EmbeddingLossReduction.ReleasedBroadcast);
        Assert.Equal(Sl1WholeBatch, terms.SmoothL1.item<float>(), 1e-6);
        // [B] losses × [B,1,1] mask → [B,1,B]: mean(mask) · mean(all four row losses, row 3 included).
        Assert.Equal(0.75 * (3 * RowImage4 + RowText) / 4, terms.InfoNce.item<float>(), 1e-6);
    }

    [Fact]
    public void UnderTheDefaultATextOnlyPredictionCannotChangeTheLossButItsTargetCan()
    {
        var (p, t, m, s) = HandBatch();
        var before = EmbeddingLoss.Compute(p, t, m, s);
        p[3] = float.NaN;                                   // its smooth-L1 and its own InfoNCE row are masked
        var nan = EmbeddingLoss.Compute(p, t, m, s);
        Assert.Equal(before.SmoothL1.item<float>(), nan.SmoothL1.item<float>());
        Assert.Equal(before.InfoNce.item<float>(), nan.InfoNce.item<float>());
        t[3] = 0f;                                          // a zero target is a neutral negative: logit 0 (as before)
        Assert.Equal(before.InfoNce.item<float>(), EmbeddingLoss.Compute(p, t, m, s).InfoNce.item<float>(), 1e-6);
        t[3] = t[0];                                        // a target like sample 0's is a hard negative for row 0
        Assert.True(EmbeddingLoss.Compute(p, t, m, s).InfoNce.item<float>() > before.InfoNce.item<float>() + 0.01);
    }

    [Fact]
    public void TermsMatchADirectComputationOverImageSamplesOnly()
    {
        manual_seed(1);
        var preds = randn(4, 2, 3) * 2; var targets = randn(4, 2, 3);
        preds[1] = float.NaN;                         // a text-only row may hold anything
        var hasImage = tensor(new[] { true, false, true, true });
        var s = tensor(0.7f);
        var terms = EmbeddingLoss.Compute(preds, targets, hasImage, s, reduction: EmbeddingLossReduction.ImageSamplesOnly);

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
        Assert.Equal(sl1, terms.SmoothL1.item<float>(), 1e-5);
        Assert.Equal(nce, terms.InfoNce.item<float>(), 1e-5);
        Assert.Equal(0.5 * (sl1 + 0.3 * nce), terms.Weighted(0.5, 0.3).item<float>(), 1e-5);
    }

    [Theory]
    [InlineData(EmbeddingLossReduction.MaskedBatchMean)]
    [InlineData(EmbeddingLossReduction.ImageSamplesOnly)]
    [InlineData(EmbeddingLossReduction.ReleasedBroadcast)]
    public void NoImageSamplesGiveExactlyZero(EmbeddingLossReduction reduction)
    {
        var preds = randn(2, 3, 4);
        if (reduction == EmbeddingLossReduction.ImageSamplesOnly) preds[0] = float.NaN;   // rows are dropped first
        var terms = EmbeddingLoss.Compute(preds, randn(2, 3, 4), tensor(new[] { false, false }), tensor(2f), reduction: reduction);
        Assert.Equal(0f, terms.SmoothL1.item<float>());
        Assert.Equal(0f, terms.InfoNce.item<float>());
        Assert.Equal(0f, terms.Weighted(0.5, 0.3).item<float>());
    }

    [Fact]
    public void ScaleClampsAt100AndStopsItsGradient()
    {
        Assert.Equal(100f, EmbeddingLoss.Scale(tensor(10f)).item<float>());
        Assert.Equal(MathF.Exp(2f), EmbeddingLoss.Scale(tensor(2f)).item<float>(), 1e-4);
        manual_seed(2);
        var p = randn(3, 5); var t = randn(3, 5);
        var s = tensor(10f).requires_grad_(true);
        var clamped = EmbeddingLoss.InfoNce(p, t, s);
        // Same as a fixed multiplier of exactly 100.
        var logits = mm(nn.functional.normalize(p, dim: -1), nn.functional.normalize(t, dim: -1).t()) * 100;
        var direct = nn.functional.cross_entropy(logits, arange(3));
        Assert.Equal(direct.item<float>(), clamped.item<float>(), 1e-4);
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
