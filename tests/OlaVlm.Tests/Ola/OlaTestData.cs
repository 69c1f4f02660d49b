using OlaVlm.Ola;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Ola;

/// A tiny collated batch: [sys 2 | img 4 | task tokens 3·N | text 3 | pad], built from leaf tensors that
/// stand in for the projector output and the task tokens, and a fake "decoder" whose layer k output is a
/// differentiable function of all positions' embeddings (so gradients can reach both).
static class OlaTestData
{
    public const int Hidden = 16, Sys = 2, Img = 4, Text = 3;

    public static OlaConfig Config(int n = 2) => OlaConfig.Miniature with
    {
        NumTaskTokens = n,
        PredictorHeads = 2,
        PredictorDimHead = 4,
        Specs = new Dictionary<OlaTask, OlaTaskSpec>
        {
            [OlaTask.Depth] = new(OlaTask.Depth, 4, 6, [8, 20]),
            [OlaTask.Seg] = new(OlaTask.Seg, 4, 5, [10, 18]),
            [OlaTask.Gen] = new(OlaTask.Gen, 1, 7, [12, 20]),
        },
    };

    public sealed record Batch(Tensor ProjectorOut, List<Tensor> LayerStates, OlaBatchLayout Layout,
                               Dictionary<OlaTask, Tensor> Targets, int T);

    /// hasImage[i] false = a text-only sample (its text starts at position 0, no task tokens).
    public static Batch Make(OlaHeads heads, bool[] hasImage, int numLayers, int pad = 2, int seed = 0)
    {
        manual_seed(seed);
        int b = hasImage.Length, block = heads.TaskTokens.BlockLength;
        int t = Sys + Img + block + Text + pad;
        var projOut = randn(b, Img, Hidden).requires_grad_(true);
        var taskSeq = heads.TaskTokens.Sequence();
        var rows = new List<Tensor>();
        var attn = zeros(b, t, dtype: ScalarType.Bool);
        var imageStart = new long[b]; var taskStart = new long[b];
        for (int i = 0; i < b; i++)
        {
            if (hasImage[i])
            {
                var parts = new List<Tensor> { randn(Sys, Hidden), projOut[i], taskSeq, randn(Text, Hidden), zeros(pad, Hidden) };
                rows.Add(cat(parts.ToArray(), 0));
                attn[i, ..(t - pad)] = true;
                imageStart[i] = Sys; taskStart[i] = Sys + Img;
            }
            else
            {
                rows.Add(cat([randn(Text + 1, Hidden), zeros(t - Text - 1, Hidden)], 0));
                attn[i, ..(Text + 1)] = true;
                imageStart[i] = -1; taskStart[i] = -1;
            }
        }
        var x = stack(rows.ToArray(), 0);
        var states = new List<Tensor>();
        var w = randn(Hidden, Hidden) / Math.Sqrt(Hidden);
        for (int k = 0; k < numLayers; k++)
        {
            x = tanh(einsum("btd,de->bte", x, w)) + x;   // per-token: keeps positions independent
            states.Add(x);
        }
        var targets = heads.Config.Tasks.ToDictionary(task => task, task =>
        {
            var s = heads.Config.Spec(task);
            return randn(b, s.NumTargetTokens, s.TargetDim);
        });
        return new Batch(projOut, states, new OlaBatchLayout(attn, imageStart, taskStart), targets, t);
    }
}
