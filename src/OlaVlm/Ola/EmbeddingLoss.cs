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

/// OLA-VLM's embedding loss for one predictor: smooth-L1 (mean, β = 1) between prediction and teacher
/// target, plus a CLIP-style InfoNCE across the batch.
///
/// InfoNCE as the reference `calculate_contrastive_loss`: flatten each sample's prediction and target,
/// L2-normalise, logits = min(exp(s), 100) · P Tᵀ, cross-entropy with the diagonal as labels.
/// It is ONE-directional (prediction → targets; rows of P Tᵀ); there is no target → prediction term.
/// With a single image sample there are no negatives and the InfoNCE term is exactly 0.
///
/// Masking: only samples with an image count. They are selected before anything is computed, so
/// text-only samples contribute nothing — not to the smooth-L1 mean, not as InfoNCE negatives — and
/// a batch without images gives exactly 0 (never NaN). Differences from the reference, on purpose:
/// (1) the reference zeroes its masks in place right before the loss (`mask.zero_()`), so its
/// embedding loss is always 0; ours is live. (2) The reference multiplies per-element losses by the
/// mask and takes the mean over the WHOLE batch (so text-only samples dilute it and stay in the InfoNCE
/// softmax); we average over image samples only.
public static class EmbeddingLoss
{
    /// min(exp(s), max): the multiplier of the cosine logits. Gradient flows to s until the clamp bites.
    public static Tensor Scale(Tensor logitScale, double max = 100.0) => logitScale.exp().clamp_max(max);

    /// preds, targets [B, ...] (same shape); hasImage [B] bool; logitScale scalar parameter, or null to
    /// skip the contrastive term (ablation).
    public static EmbeddingLossTerms Compute(Tensor preds, Tensor targets, Tensor hasImage, Tensor? logitScale, double maxScale = 100.0)
    {
        if (!preds.shape.SequenceEqual(targets.shape))
            throw new ShapeMismatchException($"EmbeddingLoss: prediction {Checked.Fmt(preds.shape)} and target {Checked.Fmt(targets.shape)} differ");
        Checked.Shape(hasImage, [preds.shape[0]], "EmbeddingLoss has-image mask");
        var zero = zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: preds.device);
        var idx = hasImage.to_type(ScalarType.Bool).nonzero().view(-1);
        if (idx.shape[0] == 0) return new EmbeddingLossTerms(zero, zero.clone());

        var p = preds.index_select(0, idx).to_type(ScalarType.Float32);
        var t = targets.index_select(0, idx).to_type(ScalarType.Float32).to(preds.device);
        var sl1 = F.smooth_l1_loss(p, t, reduction: nn.Reduction.Mean);
        var nce = logitScale is null ? zero.clone() : InfoNce(p, t, logitScale, maxScale);
        return new EmbeddingLossTerms(sl1, nce);
    }

    /// One-directional InfoNCE over the batch (every row a positive pair with its own target).
    public static Tensor InfoNce(Tensor preds, Tensor targets, Tensor logitScale, double maxScale = 100.0)
    {
        long n = preds.shape[0];
        var p = F.normalize(preds.flatten(1).to_type(ScalarType.Float32), dim: -1);
        var t = F.normalize(targets.flatten(1).to_type(ScalarType.Float32), dim: -1);
        var logits = mm(p, t.t()) * Scale(logitScale.to_type(ScalarType.Float32), maxScale);
        var labels = arange(n, dtype: ScalarType.Int64, device: preds.device);
        return F.cross_entropy(logits, labels);
    }
}
