using OlaVlm.Core;
using OlaVlm.Ola;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Eval;

/// A probe: how much of a teacher's embedding can be read out of one LLM layer. One single-block
/// Perceiver resampler (the same EmbeddingPredictor the model trains) with its own learned queries
/// (one per target token) reads ALL tokens of that layer (an optional mask only removes padding) and
/// predicts the target [B, NumTargetTokens, TargetDim]. The LLM is frozen, so probes train on cached
/// hidden states. The reference probe heads keep their learned latents at the inner width; ours are at
/// the LLM width and go through the shared proj_in, as the OLA-VLM predictor's queries do.
public sealed class Probe : nn.Module<Tensor, Tensor?, Tensor>
{
    readonly EmbeddingPredictor predictor;
    readonly Parameter queries;

    public int NumTargetTokens { get; }
    public int TargetDim { get; }

    public Probe(int hidden, int numTargetTokens, int targetDim, int? innerDim = null, int heads = 4, int dimHead = 32,
                 int ffMult = 1, Device? device = null) : base(nameof(Probe))
    {
        device ??= Devices.Default;
        NumTargetTokens = numTargetTokens; TargetDim = targetDim;
        predictor = new EmbeddingPredictor(hidden, innerDim ?? targetDim, targetDim, heads, dimHead, ffMult, 1, device);
        queries = new Parameter(randn(numTargetTokens, hidden, device: device) / Math.Sqrt(hidden));
        RegisterComponents();
    }

    /// hidden [B, T, hidden]; mask [B, T] (true = real token) or null → [B, NumTargetTokens, TargetDim].
    public override Tensor forward(Tensor hidden, Tensor? mask) => predictor.forward(hidden, mask, queries);
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
}

public sealed record ProbeFit(Probe Probe, IReadOnlyList<double> EpochLosses);

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
                              options.InnerDim, options.Heads, options.DimHead, options.FfMult, device);
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
        return new ProbeFit(probe, losses);
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
