using OlaVlm.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Ola;

/// Reads one LLM layer's hidden states and predicts a teacher's embedding (the reference
/// TaskTokenResampler): a Perceiver resampler whose queries are supplied by the caller.
///
///   queries ──QueryTiling to NumQueries──► proj_in ─► latents      (inner width)
///   hidden  ─────────────────────────────► proj_in ─► media        (proj_in is shared, as the reference)
///   repeat Depth times: latents += PerceiverAttention(media, latents); latents += FeedForward(latents)
///   proj_out (→ target dim) → norm_out (LayerNorm)
///
/// Queries: depth/seg pass their task's full query parameter ([NumTargetTokens, hidden], one per target
/// token); gen passes its N ⟨gen⟩ hidden states at that layer ([B, N, hidden]), which QueryTiling
/// averages down to its single query. Which positions are read is the caller's `mediaMask` (see
/// TaskMasks): other tasks' tokens and padding are masked out, so they cannot influence the prediction.
/// Parameter names follow the reference so checkpoints map one to one: proj_in, layers.i.0 (attention),
/// layers.i.1 (feed-forward), proj_out, norm_out (the reference nests them under `.projector`).
public sealed class EmbeddingPredictor : nn.Module<Tensor, Tensor?, Tensor, Tensor>
{
    readonly Linear proj_in, proj_out;
    readonly LayerNorm norm_out;
    readonly ModuleList<ModuleList<nn.Module>> layers;

    public int Hidden { get; }
    public int InnerDim { get; }
    public int TargetDim { get; }
    /// The reference's num_queries: queries given are tiled or averaged to this many (QueryTiling).
    /// null: no fixed count, the output has as many tokens as queries given.
    public int? NumQueries { get; }

    public EmbeddingPredictor(int hidden, int innerDim, int targetDim, int heads = 4, int dimHead = 32,
                              int ffMult = 1, int depth = 1, Device? device = null, int? numQueries = null) : base(nameof(EmbeddingPredictor))
    {
        device ??= Devices.Default;
        if (numQueries is < 1) throw new ArgumentOutOfRangeException(nameof(numQueries), numQueries, "EmbeddingPredictor needs at least one query");
        Hidden = hidden; InnerDim = innerDim; TargetDim = targetDim; NumQueries = numQueries;
        proj_in = nn.Linear(hidden, innerDim, device: device);
        layers = Blocks(innerDim, depth, heads, dimHead, ffMult, device);
        proj_out = nn.Linear(innerDim, targetDim, device: device);
        norm_out = nn.LayerNorm(targetDim, device: device);
        RegisterComponents();
    }

    /// Builds a predictor for one task with the config's head sizes and the task's inner/target widths;
    /// its NumQueries is the task's NumTargetTokens (depth/seg 576, gen 1 in the paper).
    public static EmbeddingPredictor ForTask(OlaConfig config, OlaTask task, int hidden, Device? device = null)
    {
        var spec = config.Spec(task);
        return new EmbeddingPredictor(hidden, spec.InnerDimFor(hidden), spec.TargetDim, config.PredictorHeads,
                                      config.PredictorDimHead, config.PredictorFfMult, config.PredictorDepth, device, spec.NumTargetTokens);
    }

    /// hidden [B, T, hidden]; mediaMask [B, T] bool (true = read) or null = read all;
    /// queries [n, hidden] (shared by the batch) or [B, n, hidden] → [B, NumQueries ?? n, TargetDim].
    public override Tensor forward(Tensor hidden, Tensor? mediaMask, Tensor queries)
    {
        using var scope = NewDisposeScope();
        if (hidden.dim() != 3 || hidden.shape[2] != Hidden)
            throw new ShapeMismatchException($"EmbeddingPredictor: hidden states must be [B, T, {Hidden}], got {Checked.Fmt(hidden.shape)}");
        long b = hidden.shape[0];
        if (queries.dim() == 2) queries = queries.unsqueeze(0).expand(b, -1, -1);
        if (queries.dim() != 3 || queries.shape[0] != b || queries.shape[2] != Hidden)
            throw new ShapeMismatchException($"EmbeddingPredictor: queries must be [n, {Hidden}] or [{b}, n, {Hidden}], got {Checked.Fmt(queries.shape)}");
        if (NumQueries is int q) queries = QueryTiling.Fit(queries, q);
        var media = proj_in.forward(hidden);
        var latents = proj_in.forward(queries.to_type(hidden.dtype));
        return Resample(layers, media, latents, mediaMask, proj_out, norm_out).MoveToOuterDisposeScope();
    }

    /// The Perceiver blocks both resamplers share (this predictor and Eval.Probe): Depth × (attention,
    /// feed-forward), named layers.i.0 / layers.i.1 as the reference's ModuleList of ModuleLists.
    internal static ModuleList<ModuleList<nn.Module>> Blocks(int dim, int depth, int heads, int dimHead, int ffMult, Device device)
    {
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(depth), depth, "a resampler needs at least one Perceiver block");
        var blocks = new ModuleList<ModuleList<nn.Module>>();
        for (int i = 0; i < depth; i++)
            blocks.Add(new ModuleList<nn.Module>(new PerceiverAttention(dim, dimHead, heads, device), FeedForward.Create(dim, ffMult, device)));
        return blocks;
    }

    /// media [B, T, dim], latents [B, Q, dim] (both already at the inner width) → norm_out(proj_out(·)).
    internal static Tensor Resample(ModuleList<ModuleList<nn.Module>> blocks, Tensor media, Tensor latents, Tensor? mediaMask,
                                    Linear projOut, LayerNorm normOut)
    {
        foreach (var block in blocks)
        {
            var attn = (PerceiverAttention)block[0];
            var ff = (Sequential)block[1];
            latents = attn.forward(media, latents, mediaMask) + latents;
            latents = ff.forward(latents) + latents;
        }
        return normOut.forward(projOut.forward(latents));
    }
}
