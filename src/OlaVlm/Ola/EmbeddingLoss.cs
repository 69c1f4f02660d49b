using OlaVlm.Core;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace OlaVlm.Ola;

/// The two unweighted terms of one predictor's embedding loss (scalars, float32).
public sealed record EmbeddingLossTerms(Tensor SmoothL1, Tensor InfoNce)
{
    /// λ · (smoothL1 + w_c · InfoNCE): what one predictor adds to the training loss.
    public Tensor Weighted(double lambda, double contrastiveWeight) => lambda * (SmoothL1 + contrastiveWeight * InfoNce);
}

/// How text-only samples (no image, so no real teacher target) enter the embedding loss.
/// With B samples of which M have an image, E elements per sample, per-element smooth-L1 s_be and
/// per-sample InfoNCE c_b (cross-entropy of row b over ALL B targets), mask m_b ∈ {0, 1}:
public enum EmbeddingLossReduction
{
    /// The reference's intent (default): smoothL1 = Σ m_b·s_be / (B·E), InfoNCE = Σ m_b·c_b / B. The whole
    /// batch stays in: text-only rows dilute the means and their targets are InfoNCE negatives.
    /// On a batch of 4 with one text-only sample the smooth-L1 is 3/4 of the image-rows mean.
    MaskedBatchMean,
    /// Text-only rows removed before anything is computed: means over the M image samples, InfoNCE over an
    /// M×M logit matrix. Why keep it: the loss per image does not depend on how many text-only samples the
    /// batch happens to hold, and text-only rows may hold anything (even NaN).
    ImageSamplesOnly,
    /// The released code literally: smooth-L1 as MaskedBatchMean, but the [B] InfoNCE losses times the
    /// [B,1,1] mask broadcast to [B,1,B], so InfoNCE = mean_b(m_b) · mean_b(c_b) — text-only rows' own
    /// InfoNCE counts. A bug in the release, offered only to reproduce its numbers exactly.
    ReleasedBroadcast,
}

/// OLA-VLM's embedding loss for one predictor: smooth-L1 (β = 1) between prediction and teacher target,
/// plus a CLIP-style InfoNCE across the batch; how the batch is reduced is EmbeddingLossReduction.
///
/// InfoNCE as the reference `calculate_contrastive_loss`: flatten each sample's prediction and target,
/// L2-normalise, logits = min(exp(s), 100) · P Tᵀ, cross-entropy with the diagonal as labels.
/// It is ONE-directional (prediction → targets; rows of P Tᵀ); there is no target → prediction term.
/// With a single sample there are no negatives and the InfoNCE term is exactly 0.
///
/// A batch without images gives exactly 0 (never NaN) under every reduction, provided the text-only
/// rows are finite for the two batch-wide ones (TeacherTargets.ForBatch fills them with zeros, which
/// normalise to a neutral negative with logit 0; the reference encodes a black image instead).
/// Masked rows are dropped with `where`, not multiplied by 0, so a non-finite text-only smooth-L1 cannot
/// leak into the sum (0·NaN = NaN).
/// Deliberate difference from the released code: it zeroes its masks in place right before the loss
/// (`mask.zero_()`), so its embedding loss is always 0; ours is live.
public static class EmbeddingLoss
{
    /// min(exp(s), max): the multiplier of the cosine logits. Gradient flows to s until the clamp bites.
    public static Tensor Scale(Tensor logitScale, double max = 100.0) => logitScale.exp().clamp_max(max);

    /// preds, targets [B, ...] (same shape); hasImage [B] bool; logitScale scalar parameter, or null to
    /// skip the contrastive term (ablation).
    public static EmbeddingLossTerms Compute(Tensor preds, Tensor targets, Tensor hasImage, Tensor? logitScale, double maxScale = 100.0,
                                             EmbeddingLossReduction reduction = EmbeddingLossReduction.MaskedBatchMean)
    {
        if (!preds.shape.SequenceEqual(targets.shape))
            throw new ShapeMismatchException($"EmbeddingLoss: prediction {Checked.Fmt(preds.shape)} and target {Checked.Fmt(targets.shape)} differ");
        Checked.Shape(hasImage, [preds.shape[0]], "EmbeddingLoss has-image mask");
        var zero = zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: preds.device);
        var mask = hasImage.to_type(ScalarType.Bool).to(preds.device);
        var p = preds.to_type(ScalarType.Float32);
        var t = targets.to_type(ScalarType.Float32).to(preds.device);

        if (reduction == EmbeddingLossReduction.ImageSamplesOnly)
        {
            var idx = mask.nonzero().view(-1);
            if (idx.shape[0] == 0) return new EmbeddingLossTerms(zero, zero.clone());
            p = p.index_select(0, idx); t = t.index_select(0, idx);
            var sl1Img = F.smooth_l1_loss(p, t, reduction: nn.Reduction.Mean);
            return new EmbeddingLossTerms(sl1Img, logitScale is null ? zero.clone() : InfoNce(p, t, logitScale, maxScale));
        }

        // Per-element smooth-L1, masked per sample, averaged over every element of the whole batch.
        var perElement = F.smooth_l1_loss(p, t, reduction: nn.Reduction.None);
        var rowMask = mask.view([mask.shape[0], .. Enumerable.Repeat(1L, (int)p.dim() - 1)]);
        var sl1 = where(rowMask, perElement, zero).mean();
        if (logitScale is null) return new EmbeddingLossTerms(sl1, zero.clone());

        // Per-sample InfoNCE over the whole batch: text-only rows stay in every softmax as negatives.
        var perSample = InfoNcePerSample(p, t, logitScale, maxScale);
        var nce = reduction switch
        {
            EmbeddingLossReduction.MaskedBatchMean => where(mask, perSample, zero).mean(),
            EmbeddingLossReduction.ReleasedBroadcast => mask.to_type(ScalarType.Float32).mean() * perSample.mean(),
            _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "unknown embedding-loss reduction"),
        };
        return new EmbeddingLossTerms(sl1, nce);
    }

    /// One-directional InfoNCE over the batch (every row a positive pair with its own target), averaged.
    public static Tensor InfoNce(Tensor preds, Tensor targets, Tensor logitScale, double maxScale = 100.0) =>
        InfoNcePerSample(preds, targets, logitScale, maxScale).mean();

    /// The per-sample cross-entropies [B] (reference: reduction="none"): row b's softmax over all B targets.
    public static Tensor InfoNcePerSample(Tensor preds, Tensor targets, Tensor logitScale, double maxScale = 100.0)
    {
        long n = preds.shape[0];
        var p = F.normalize(preds.flatten(1).to_type(ScalarType.Float32), dim: -1);
        var t = F.normalize(targets.flatten(1).to_type(ScalarType.Float32), dim: -1);
        var logits = mm(p, t.t()) * Scale(logitScale.to_type(ScalarType.Float32), maxScale);
        var labels = arange(n, dtype: ScalarType.Int64, device: preds.device);
        return F.cross_entropy(logits, labels, reduction: nn.Reduction.None);
    }
}
