using OlaVlm.Core;
using OlaVlm.Model;
using OlaVlm.Ola;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Eval;

/// A probe: how much of a teacher's embedding can be read out of one LLM layer. It is the reference's
/// probe head, a Perceiver `Resampler` (ola_vlm/model/multimodal_projector/resampler.py):
///
///   latents [1, Q, inner] (learned, at the INNER width; they never pass through proj_in)
///   hidden [B, T, hidden] ──proj_in──► media [B, T, inner]
///   Depth × (latents += PerceiverAttention(media, latents); latents += FeedForward(latents))
///   proj_out (→ TargetDim) → norm_out (LayerNorm)              → [B, Q, TargetDim]
///
/// It reads ALL tokens of the layer (an optional mask only removes padding). The LLM is frozen, so probes
/// train on cached hidden states. Parameter names are the reference Resampler's state dict (latents,
/// proj_in, layers.i.0.{norm1,norm2,to_q,to_kv,to_out}, layers.i.1.{0,1,3}, proj_out, norm_out), so a
/// reference probe checkpoint loads by name (FromStateDict, LoadReference). Why not the predictor's
/// form (queries at the LLM width through proj_in): it cannot express the reference probe, whose latents
/// are free at the inner width.
public sealed class Probe : nn.Module<Tensor, Tensor?, Tensor>
{
    readonly Parameter latents;
    readonly Linear proj_in, proj_out;
    readonly LayerNorm norm_out;
    readonly ModuleList<ModuleList<nn.Module>> layers;

    public int Hidden { get; }
    public int InnerDim { get; }
    public int NumTargetTokens { get; }
    public int TargetDim { get; }
    public int Depth { get; }

    /// innerDim null = TargetDim (the reference probe builds its Resampler with dim = output_dim).
    /// Defaults are the reference probe config (probe_dsg_train.py): depth 1, 4 heads of 32, ff_mult 1.
    public Probe(int hidden, int numTargetTokens, int targetDim, int? innerDim = null, int heads = 4, int dimHead = 32,
                 int ffMult = 1, int depth = 1, Device? device = null) : base(nameof(Probe))
    {
        device ??= Devices.Default;
        int inner = innerDim ?? targetDim;
        Hidden = hidden; InnerDim = inner; NumTargetTokens = numTargetTokens; TargetDim = targetDim; Depth = depth;
        // As the reference: randn / sqrt(dim), shape [1, Q, dim] so the state dict maps one to one.
        latents = new Parameter(randn(1, numTargetTokens, inner, device: device) / Math.Sqrt(inner));
        proj_in = nn.Linear(hidden, inner, device: device);
        layers = EmbeddingPredictor.Blocks(inner, depth, heads, dimHead, ffMult, device);
        proj_out = nn.Linear(inner, targetDim, device: device);
        norm_out = nn.LayerNorm(targetDim, device: device);
        RegisterComponents();
    }

    /// hidden [B, T, hidden]; mask [B, T] (true = real token) or null → [B, NumTargetTokens, TargetDim].
    public override Tensor forward(Tensor hidden, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        if (hidden.dim() != 3 || hidden.shape[2] != Hidden)
            throw new ShapeMismatchException($"Probe: hidden states must be [B, T, {Hidden}], got {Checked.Fmt(hidden.shape)}");
        var media = proj_in.forward(hidden);
        var lat = latents.to_type(media.dtype).expand(hidden.shape[0], -1, -1);
        return EmbeddingPredictor.Resample(layers, media, lat, mask, proj_out, norm_out).MoveToOuterDisposeScope();
    }

    /// Key prefix of the probe of `task` at 1-based LLM `layer` in a reference probe checkpoint
    /// (ProbeDSGLlavaLlamaForCausalLM: image_{gen,depth,seg}_heads[layer-1].projector).
    public static string ReferencePrefix(OlaTask task, int layer) =>
        layer >= 1 ? $"image_{task.Name()}_heads.{layer - 1}.projector." : throw new ArgumentOutOfRangeException(nameof(layer), layer, "layers are 1-based");

    /// Copies the keys under `prefix` of a reference-format state dict into this probe, by name: every
    /// probe parameter must be there with its shape, and no other key may sit under the prefix (one
    /// CheckpointMismatchException lists all problems). Keys outside the prefix are ignored.
    public void LoadReference(IReadOnlyDictionary<string, Tensor> stateDict, string prefix = "", string source = "state dict") =>
        Checkpoint.Load(this, stateDict, k => k.StartsWith(prefix, StringComparison.Ordinal) ? k[prefix.Length..] : null, source);

    /// A probe built from a reference-format state dict: hidden, Q, inner, target width, depth and ff_mult
    /// come from the tensor shapes; heads × dimHead (not recoverable from the weights) must multiply to
    /// the width of to_q (reference probe defaults 4 × 32).
    public static Probe FromStateDict(IReadOnlyDictionary<string, Tensor> stateDict, string prefix = "", int heads = 4, int dimHead = 32,
                                      Device? device = null, string source = "state dict")
    {
        Tensor Get(string key) => stateDict.TryGetValue(prefix + key, out var t) ? t
            : throw new KeyNotFoundException($"Probe.FromStateDict: {source} has no '{prefix + key}'" +
                                             (stateDict.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal)) ? "" : $" (no key starts with '{prefix}')"));
        var lat = Get("latents");
        if (lat.dim() != 3 || lat.shape[0] != 1)
            throw new ShapeMismatchException($"Probe.FromStateDict: '{prefix}latents' must be [1, Q, inner], got {Checked.Fmt(lat.shape)}");
        var projIn = Get("proj_in.weight"); var projOut = Get("proj_out.weight"); var toQ = Get("layers.0.0.to_q.weight");
        var ffIn = Get("layers.0.1.1.weight");
        int inner = (int)lat.shape[2];
        if (toQ.shape[0] != heads * dimHead)
            throw new ShapeMismatchException($"Probe.FromStateDict: '{prefix}layers.0.0.to_q.weight' is {Checked.Fmt(toQ.shape)}: its {toQ.shape[0]} rows are not heads × dimHead = {heads} × {dimHead}");
        if (ffIn.shape[0] % inner != 0)
            throw new ShapeMismatchException($"Probe.FromStateDict: '{prefix}layers.0.1.1.weight' {Checked.Fmt(ffIn.shape)} is not a multiple of the inner width {inner}");
        int depth = 0;
        while (stateDict.ContainsKey($"{prefix}layers.{depth}.0.to_q.weight")) depth++;
        var probe = new Probe((int)projIn.shape[1], (int)lat.shape[1], (int)projOut.shape[0], inner, heads, dimHead,
                              (int)(ffIn.shape[0] / inner), depth, device);
        probe.LoadReference(stateDict, prefix, source);
        return probe;
    }

    /// Reads a reference probe checkpoint (.safetensors, a PyTorch .bin/.pt state dict, or an HF model
    /// directory) and builds the probe under `prefix`, e.g. ReferencePrefix(OlaTask.Depth, 16).
    public static Probe FromCheckpoint(string path, string prefix, int heads = 4, int dimHead = 32, Device? device = null)
    {
        var sd = Checkpoint.Read(path);
        try { return FromStateDict(sd, prefix, heads, dimHead, device, path); }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }
}

public sealed record ProbeOptions
{
    public int Epochs { get; init; } = 20;
    public int BatchSize { get; init; } = 16;
    public double LearningRate { get; init; } = 1e-3;
    public double WeightDecay { get; init; } = 0.0;
    public int Seed { get; init; } = 0;
    public int? InnerDim { get; init; }
    public int Heads { get; init; } = 4;
    public int DimHead { get; init; } = 32;
    public int FfMult { get; init; } = 1;
    /// Perceiver blocks (the reference takes probe depth from its config; default 1).
    public int Depth { get; init; } = 1;
    /// Train on the targets minus their mean over the training images, and add that mean back when predicting,
    /// with the probe's output scale (norm_out.weight) starting at 0: the probe starts exactly at the mean-target
    /// floor (LayerProbing.MeanTargetCosine) and can only learn what a layer adds beyond the average target.
    /// The reference trains its probes long enough on COCO to find the mean by themselves; the miniature's few
    /// dozen steps did not (every probe ended below that floor), so this is on by default
    /// (docs/reference-equivalence.md). False: the reference's plain fit.
    public bool AroundMean { get; init; } = true;
}

/// A trained probe and what it predicts around: Mean [1, Q, C] is added to its output (null: nothing added).
public sealed record ProbeFit(Probe Probe, IReadOnlyList<double> EpochLosses, Tensor? Mean = null);

/// Trains a probe on cached hidden states with smooth-L1 (as the reference probe training) and scores it
/// with the paper's cosine metric.
public static class ProbeTrainer
{
    /// hidden [N, T, D] and targets [N, Q, C] (any device; batches move to `device`); masks [N, T] or null.
    public static ProbeFit Fit(Tensor hiddenTrain, Tensor targetsTrain, ProbeOptions? options = null,
                               Tensor? masksTrain = null, Device? device = null)
    {
        options ??= new ProbeOptions();
        device ??= Devices.Default;
        Check(hiddenTrain, targetsTrain, masksTrain);
        manual_seed(options.Seed);
        var probe = new Probe((int)hiddenTrain.shape[2], (int)targetsTrain.shape[1], (int)targetsTrain.shape[2],
                              options.InnerDim, options.Heads, options.DimHead, options.FfMult, options.Depth, device);
        Tensor? mean = null;
        if (options.AroundMean)
        {
            // Output scale 0: the fit starts at the mean and grows only what the layer adds to it.
            using (no_grad()) probe.named_parameters().Single(p => p.name == "norm_out.weight").parameter.zero_();
            mean = targetsTrain.to(device).to(float32).mean([0], keepdim: true).detach();
        }
        var opt = optim.AdamW(probe.parameters(), options.LearningRate, weight_decay: options.WeightDecay);
        long n = hiddenTrain.shape[0];
        var gen = new Generator((ulong)options.Seed);
        var losses = new List<double>();
        probe.train();
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            double sum = 0; int steps = 0;
            using var order = randperm(n, generator: gen);
            for (long start = 0; start < n; start += options.BatchSize)
            {
                using var scope = NewDisposeScope();
                var idx = order.narrow(0, start, Math.Min(options.BatchSize, n - start)).to(hiddenTrain.device);
                var h = hiddenTrain.index_select(0, idx).to(device);
                var t = targetsTrain.index_select(0, idx).to(device).to_type(h.dtype);
                if (mean is not null) t = t - mean.to_type(h.dtype);
                var m = masksTrain?.index_select(0, idx).to(device);
                var loss = nn.functional.smooth_l1_loss(probe.forward(h, m), t);
                opt.zero_grad();
                loss.backward();
                opt.step();
                sum += loss.ToDouble(); steps++;
            }
            losses.Add(sum / steps);
        }
        probe.eval();
        return new ProbeFit(probe, losses, mean);
    }

    /// Predictions of a fit: its probe's output plus the mean it was trained around.
    public static Tensor Predict(ProbeFit fit, Tensor hidden, Tensor? masks = null, int batchSize = 32)
    {
        var p = Predict(fit.Probe, hidden, masks, batchSize);
        if (fit.Mean is null) return p;
        using (p) return p + fit.Mean.to(p.device).to_type(p.dtype);
    }

    /// The paper's probe score of a fit (its mean added back).
    public static double Evaluate(ProbeFit fit, Tensor hidden, Tensor targets, Tensor? masks = null, int batchSize = 32)
    {
        Check(hidden, targets, masks);
        using var scope = NewDisposeScope();
        return ProbeMetric.MeanCosine(Predict(fit, hidden, masks, batchSize), targets);
    }

    /// Predictions for cached hidden states, in batches, without gradients: [N, Q, C] on the probe's device.
    public static Tensor Predict(Probe probe, Tensor hidden, Tensor? masks = null, int batchSize = 32)
    {
        using var _ = no_grad();
        var device = probe.parameters().First().device;
        var outs = new List<Tensor>();
        for (long s = 0; s < hidden.shape[0]; s += batchSize)
        {
            long len = Math.Min(batchSize, hidden.shape[0] - s);
            outs.Add(probe.forward(hidden.narrow(0, s, len).to(device), masks?.narrow(0, s, len).to(device)));
        }
        return cat(outs.ToArray(), 0);
    }

    /// The paper's probe score: mean over images of cosine(flattened prediction, flattened target).
    public static double Evaluate(Probe probe, Tensor hidden, Tensor targets, Tensor? masks = null, int batchSize = 32)
    {
        Check(hidden, targets, masks);
        using var scope = NewDisposeScope();
        return ProbeMetric.MeanCosine(Predict(probe, hidden, masks, batchSize), targets);
    }

    static void Check(Tensor hidden, Tensor targets, Tensor? masks)
    {
        if (hidden.dim() != 3 || targets.dim() != 3 || hidden.shape[0] != targets.shape[0])
            throw new ShapeMismatchException($"Probe: hidden states {Checked.Fmt(hidden.shape)} must be [N, T, D] and targets {Checked.Fmt(targets.shape)} [N, Q, C] with the same N");
        if (masks is not null) Checked.Shape(masks, [hidden.shape[0], hidden.shape[1]], "Probe mask");
    }
}
