using OlaVlm.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Ola;

/// Reads one LLM layer's hidden states and predicts a teacher's embedding (the reference
/// TaskTokenResampler): a Perceiver resampler whose queries are supplied by the caller.
///
///   queries, hidden ──proj_in (shared)──► latents, media   (inner width)
///   repeat Depth times: latents += PerceiverAttention(media, latents); latents += FeedForward(latents)
///   proj_out (→ target dim) → norm_out (LayerNorm)
///
/// Queries: depth/seg pass their task's full query parameter ([NumTargetTokens, hidden], one per target
/// token); gen passes the mean of its ⟨gen⟩ hidden states at that layer ([B, 1, hidden]).
/// Which positions are read is the caller's `mediaMask` (see TaskMasks): other tasks' tokens and padding
/// are masked out, so they cannot influence the prediction.
/// Parameter names follow the reference so checkpoints map one to one: proj_in, layers.i.0 (attention),
/// layers.i.1 (feed-forward), proj_out, norm_out.
public sealed class EmbeddingPredictor : nn.Module<Tensor, Tensor?, Tensor, Tensor>
{
    readonly Linear proj_in, proj_out;
    readonly LayerNorm norm_out;
    readonly ModuleList<ModuleList<nn.Module>> layers;

    public int Hidden { get; }
    public int InnerDim { get; }
    public int TargetDim { get; }

    public EmbeddingPredictor(int hidden, int innerDim, int targetDim, int heads = 4, int dimHead = 32,
                              int ffMult = 1, int depth = 1, Device? device = null) : base(nameof(EmbeddingPredictor))
    {
        device ??= Devices.Default;
        Hidden = hidden; InnerDim = innerDim; TargetDim = targetDim;
        proj_in = nn.Linear(hidden, innerDim, device: device);
        layers = new ModuleList<ModuleList<nn.Module>>();
        for (int i = 0; i < depth; i++)
            layers.Add(new ModuleList<nn.Module>(new PerceiverAttention(innerDim, dimHead, heads, device), FeedForward.Create(innerDim, ffMult, device)));
        proj_out = nn.Linear(innerDim, targetDim, device: device);
        norm_out = nn.LayerNorm(targetDim, device: device);
        RegisterComponents();
    }

    /// Builds a predictor for one task with the config's head sizes and the task's inner/target widths.
    public static EmbeddingPredictor ForTask(OlaConfig config, OlaTask task, int hidden, Device? device = null)
    {
        var spec = config.Spec(task);
        return new EmbeddingPredictor(hidden, spec.InnerDimFor(hidden), spec.TargetDim, config.PredictorHeads,
                                      config.PredictorDimHead, config.PredictorFfMult, config.PredictorDepth, device);
    }

    /// hidden [B, T, hidden]; mediaMask [B, T] bool (true = read) or null = read all;
    /// queries [Q, hidden] (shared by the batch) or [B, Q, hidden] → [B, Q, TargetDim].
    public override Tensor forward(Tensor hidden, Tensor? mediaMask, Tensor queries)
    {
        using var scope = NewDisposeScope();
        if (hidden.dim() != 3 || hidden.shape[2] != Hidden)
            throw new ShapeMismatchException($"EmbeddingPredictor: hidden states must be [B, T, {Hidden}], got {Checked.Fmt(hidden.shape)}");
        long b = hidden.shape[0];
        if (queries.dim() == 2) queries = queries.unsqueeze(0).expand(b, -1, -1);
        if (queries.dim() != 3 || queries.shape[0] != b || queries.shape[2] != Hidden)
            throw new ShapeMismatchException($"EmbeddingPredictor: queries must be [Q, {Hidden}] or [{b}, Q, {Hidden}], got {Checked.Fmt(queries.shape)}");
        var media = proj_in.forward(hidden);
        var latents = proj_in.forward(queries.to_type(hidden.dtype));
        foreach (var layer in layers)
        {
            var attn = (PerceiverAttention)layer[0];
            var ff = (Sequential)layer[1];
            latents = attn.forward(media, latents, mediaMask) + latents;
            latents = ff.forward(latents) + latents;
        }
        return norm_out.forward(proj_out.forward(latents)).MoveToOuterDisposeScope();
    }
}
