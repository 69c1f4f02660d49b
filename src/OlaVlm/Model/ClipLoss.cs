using static TorchSharp.torch;

namespace OlaVlm.Model;

/// CLIP's contrastive objective: row i of the image batch matches row i of the text batch; cross-entropy
/// over image→text and text→image similarities, averaged. logit_scale is a log temperature, clamped at
/// ln(100) as in CLIP so the softmax cannot become arbitrarily sharp.
/// `negativeTexts` (NegCLIP's hard negatives, [M, D]) join the image→text side only: each image must also
/// rank its true caption above them; the text→image side is unchanged.
public static class ClipLoss
{
    public static Tensor Compute(Tensor imageEmbeds, Tensor textEmbeds, Tensor logitScale, Tensor? negativeTexts = null)
    {
        if (imageEmbeds.shape[0] != textEmbeds.shape[0])
            throw new Core.ShapeMismatchException($"ClipLoss: {imageEmbeds.shape[0]} images vs {textEmbeds.shape[0]} texts");
        if (negativeTexts is not null && negativeTexts.shape[^1] != textEmbeds.shape[^1])
            throw new Core.ShapeMismatchException($"ClipLoss: negative texts [{string.Join(", ", negativeTexts.shape)}] vs texts [{string.Join(", ", textEmbeds.shape)}]");
        using var scope = NewDisposeScope();
        var scale = logitScale.clamp_max(Math.Log(100)).exp();
        var logits = einsum("id,jd->ij", imageEmbeds, textEmbeds) * scale;
        var target = arange(logits.shape[0], device: logits.device);
        var imageToText = negativeTexts is null ? logits : cat([logits, einsum("id,jd->ij", imageEmbeds, negativeTexts) * scale], 1);
        var loss = (nn.functional.cross_entropy(imageToText, target) + nn.functional.cross_entropy(logits.t(), target)) / 2;
        return loss.MoveToOuterDisposeScope();
    }
}
