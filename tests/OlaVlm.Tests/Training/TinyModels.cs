using OlaVlm.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Training;

/// A 4 -> 8 -> 2 MLP with a norm and dropout: small enough for milliseconds per step, with the kinds
/// of parameters the trainer treats differently (matrices, biases, norm weights) and randomness.
public sealed class TinyMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly LayerNorm norm;
    private readonly Dropout drop;
    private readonly Linear fc2;

    public TinyMlp(long seed, int hidden = 8, double dropout = 0.1) : base("tiny_mlp")
    {
        manual_seed(seed);
        fc1 = nn.Linear(4, hidden);
        norm = nn.LayerNorm(hidden);
        drop = nn.Dropout(dropout);
        fc2 = nn.Linear(hidden, 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc2.forward(drop.forward(nn.functional.gelu(norm.forward(fc1.forward(x)))));
}

static class Tiny
{
    /// A regression target the MLP can learn.
    public static (Tensor x, Tensor y) Batch(int n)
    {
        var x = randn(n, 4);
        var y = stack([x[.., 0] * x[.., 1], x[.., 2] - x[.., 3]], 1);
        return (x, y);
    }

    /// Mean-squared error on a fresh batch drawn from torch's RNG, which the Trainer seeds per step.
    public static Func<int, int, LossParts> MseStep(TinyMlp model, int batch = 16) => (step, micro) =>
    {
        var (x, y) = Batch(batch);
        var pred = model.forward(x);
        var mse = nn.functional.mse_loss(pred, y);
        var l1 = (pred - y).abs().mean();
        return new LossParts(mse, ("mse", mse), ("l1", l1)) { Samples = batch };
    };

    public static string TempDir()
    {
        // Under the git-ignored out/ folder, like everything generated.
        return Core.Paths.OutDir("tests", "training", Guid.NewGuid().ToString("N"));
    }

    public static TrainConfig Config(string dir, int steps = 10) => new()
    {
        Steps = steps, BatchSize = 16, LearningRate = 1e-2, WarmupRatio = 0.2, LogEvery = 1,
        OutputDir = dir, Seed = 7,
    };

    /// Same shape and bit-identical values.
    public static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && eq(a, b).all().item<bool>();

    public static Dictionary<string, Tensor> Snapshot(nn.Module m) =>
        m.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
}
