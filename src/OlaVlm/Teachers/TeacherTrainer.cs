using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// Optimiser knobs for a mini teacher. Defaults train the Miniature presets on a few thousand 64×64
/// images in about a minute on 2 CPU cores.
public sealed record TeacherTrainConfig
{
    public int Steps { get; init; } = 400;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 3e-3;
    public double WeightDecay { get; init; } = 0.01;
    /// Linear warm-up, then cosine decay to 10% of LearningRate.
    public int WarmupSteps { get; init; } = 20;
    public double GradClip { get; init; } = 1.0;
    /// Seeds the batch order.
    public int Seed { get; init; } = 0;
}

/// Losses of a training run.
public sealed record TrainReport(IReadOnlyList<float> Losses, double Seconds)
{
    /// Mean of the first / last `k` losses (k = min(20, steps/4, at least 1)).
    public double FirstLoss => Losses.Take(Window).Average();
    public double LastLoss => Losses.TakeLast(Window).Average();
    int Window => Math.Max(1, Math.Min(20, Losses.Count / 4));
}

/// The plain loop: shuffled mini-batches, AdamW, warm-up + cosine, grad clipping, DisposeScope per step.
public static class TeacherTrainer
{
    public static TrainReport Train(MiniTeacher teacher, TeacherData data, int steps, TeacherTrainConfig? config = null,
                                    Action<int, float>? onStep = null)
    {
        config ??= new TeacherTrainConfig();
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "need at least one step");
        var rng = new Random(config.Seed);
        manual_seed(config.Seed);
        var sw = Stopwatch.StartNew();
        var losses = new List<float>(steps);
        teacher.Unfreeze();
        try
        {
            var ps = teacher.parameters().ToList();
            using var opt = optim.AdamW(ps, lr: config.LearningRate, weight_decay: config.WeightDecay);
            int[] order = []; int pos = 0;
            for (int step = 0; step < steps; step++)
            {
                using var scope = NewDisposeScope();
                if (pos + config.BatchSize > order.Length) { order = Shuffle((int)data.Count, rng); pos = 0; }
                int bs = Math.Min(config.BatchSize, order.Length);
                var idx = tensor(order.AsSpan(pos, bs).ToArray().Select(i => (long)i).ToArray());
                pos += bs;
                foreach (var g in opt.ParamGroups) g.LearningRate = LearningRate(config, step, steps);
                opt.zero_grad();
                var loss = teacher.Loss(data.Batch(idx, teacher.Device));
                loss.backward();
                if (config.GradClip > 0) nn.utils.clip_grad_norm_(ps, config.GradClip);
                opt.step();
                float l = loss.item<float>();
                if (!float.IsFinite(l)) throw new InvalidOperationException($"{teacher.Name}: loss became {l} at step {step}");
                losses.Add(l);
                onStep?.Invoke(step, l);
            }
        }
        finally { teacher.Freeze(); }
        return new TrainReport(losses, sw.Elapsed.TotalSeconds);
    }

    public static TeacherScore Evaluate(MiniTeacher teacher, TeacherData val, int batchSize = 64) => teacher.Evaluate(val, batchSize);

    public static double LearningRate(TeacherTrainConfig c, int step, int steps)
    {
        if (step < c.WarmupSteps) return c.LearningRate * (step + 1) / c.WarmupSteps;
        double t = (double)(step - c.WarmupSteps) / Math.Max(1, steps - c.WarmupSteps);
        return c.LearningRate * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * t)));
    }

    static int[] Shuffle(int n, Random rng)
    {
        var a = Enumerable.Range(0, n).ToArray();
        rng.Shuffle(a);
        return a;
    }
}
