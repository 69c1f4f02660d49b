using static TorchSharp.torch;

namespace OlaVlm.Model;

/// CLIP's contrastive objective: row i of the image batch matches row i of the text batch; cross-entropy
/// over image→text and text→image similarities, averaged. logit_scale is a log temperature, clamped at
/// ln(100) as in CLIP so the softmax cannot become arbitrarily sharp.
public static class ClipLoss
{
    public static Tensor Compute(Tensor imageEmbeds, Tensor textEmbeds, Tensor logitScale)
    {
        if (imageEmbeds.shape[0] != textEmbeds.shape[0])
            throw new Core.ShapeMismatchException($"ClipLoss: {imageEmbeds.shape[0]} images vs {textEmbeds.shape[0]} texts");
        using var scope = NewDisposeScope();
        var scale = logitScale.clamp_max(Math.Log(100)).exp();
        var logits = einsum("id,jd->ij", imageEmbeds, textEmbeds) * scale;
        var target = arange(logits.shape[0], device: logits.device);
        var loss = (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.t(), target)) / 2;
        return loss.MoveToOuterDisposeScope();
    }
}
