using TorchSharp.Modules;

namespace OlaVlm.Training;

/// Linear warmup then cosine decay, as LLaVA (HF `cosine` scheduler, warmup_ratio 0.03) and nanoGPT.
/// The schedule is a multiplier: every optimizer group keeps its own base learning rate
/// (InitialLearningRate) and gets base * Factor(step), so projector and LLM decay together.
public sealed record LrSchedule(int TotalSteps, int WarmupSteps, double MinRatio = 0.0)
{
    public static LrSchedule From(TrainConfig c) => new(c.Steps, c.WarmupSteps, c.MinLrRatio);

    /// Multiplier for 0-based optimizer step `step`.
    /// Warmup: (step+1)/warmup, so the first step already moves (HF starts at 0 and wastes one step),
    /// reaching 1 at step warmup-1. Then cosine from 1 at step=warmup to MinRatio at step=TotalSteps.
    public double Factor(int step)
    {
        if (step < WarmupSteps) return (step + 1.0) / WarmupSteps;
        double progress = Math.Clamp((double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps), 0, 1);
        return MinRatio + (1 - MinRatio) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    /// Sets every group's learning rate for `step`; returns the rates in group order.
    public double[] Apply(OptimizerHelper optimizer, int step)
    {
        double f = Factor(step);
        var rates = new List<double>();
        foreach (var g in optimizer.ParamGroups)
        {
            g.LearningRate = g.InitialLearningRate * f;
            rates.Add(g.LearningRate);
        }
        return rates.ToArray();
    }
}
