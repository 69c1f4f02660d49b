using OlaVlm.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Eval;

/// The paper's probe metric: per image, the cosine similarity between the WHOLE flattened prediction and
/// the whole flattened target (one number per image, not a mean over tokens), then the mean over images.
public static class ProbeMetric
{
    /// pred, target [B, ...] of the same shape → [B] cosine similarities (float32).
    public static Tensor PerImageCosine(Tensor pred, Tensor target)
    {
        if (!pred.shape.SequenceEqual(target.shape))
            throw new ShapeMismatchException($"ProbeMetric: prediction {Checked.Fmt(pred.shape)} and target {Checked.Fmt(target.shape)} differ");
        var p = pred.flatten(1).to_type(ScalarType.Float32);
        var t = target.flatten(1).to_type(ScalarType.Float32).to(p.device);
        return nn.functional.cosine_similarity(p, t, dim: 1, eps: 1e-8);
    }

    /// Mean over images of PerImageCosine.
    public static double MeanCosine(Tensor pred, Tensor target)
    {
        using var scope = NewDisposeScope();
        return PerImageCosine(pred, target).mean().ToDouble();
    }
}
