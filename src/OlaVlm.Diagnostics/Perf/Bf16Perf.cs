using System.Diagnostics;
using OlaVlm.Data;
using OlaVlm.Foundation;
using OlaVlm.Stages;
using OlaVlm.Teachers;
using OlaVlm.Training;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// What the bf16 benchmark trains on: the world, foundation, teachers and experiment of notebook 03 for a
/// profile (ForProfile), or anything else (the presets are changing; everything here is a parameter).
public sealed record Bf16Setup(WorldConfig World, FoundationConfig Foundation, TeacherTrainConfig Teachers, int? TeacherTrainLimit,
                               ExperimentConfig Experiment)
{
    /// Notebook 03's choices for "quick" or "full" (OLA_PROFILE; the main job runs full). Quick answers every
    /// benchmark item (ExperimentConfig.Quick's first 60 hold no 3D item, so its Overall would be NaN).
    public static Bf16Setup ForProfile(string profile) => profile == Profile.Quick
        ? new(WorldConfig.Quick, FoundationConfig.Quick, new TeacherTrainConfig { Steps = 30 }, 120, ExperimentConfig.Quick with { BenchLimit = 0 })
        : new(new WorldConfig(), new FoundationConfig(), new TeacherTrainConfig(), 2000, ExperimentConfig.Full);
}

/// One way of training: fp32, or bf16 weights with or without fp32 master weights.
public sealed record Bf16Variant(string Name, bool Bf16Weights, bool MasterWeights)
{
    public static readonly Bf16Variant Fp32 = new("fp32", false, false);
    public static readonly Bf16Variant PureBf16 = new("bf16", true, false);
    public static readonly Bf16Variant Bf16Masters = new("bf16 + fp32 master weights", true, true);
    public static IReadOnlyList<Bf16Variant> All => [Fp32, PureBf16, Bf16Masters];

    public ExperimentConfig Apply(ExperimentConfig c) => c with
    {
        Pretrain = c.Pretrain with { Bf16Weights = Bf16Weights, Fp32MasterWeights = MasterWeights },
        VisualPretrain = c.VisualPretrain is null ? null : c.VisualPretrain with { Bf16Weights = Bf16Weights, Fp32MasterWeights = MasterWeights },
        Finetune = c.Finetune with { Bf16Weights = Bf16Weights, Fp32MasterWeights = MasterWeights },
    };
}

/// One arm trained once: PT+IFT training time (the Trainer's step times summed: data, forward, backward,
/// optimizer; not checkpoint writes), the mean loss of each stage's last tenth of steps, and its benchmark
/// score (CV-Bench Overall) and plain item accuracy.
public sealed record Bf16ArmRun(Bf16Variant Variant, long Seed, string Arm, double PtSeconds, double FinetuneSeconds,
                                double PtLoss, double FinetuneLoss, double Score, double ItemAccuracy)
{
    public double TrainSeconds => PtSeconds + FinetuneSeconds;
}

public sealed record Bf16Report(IReadOnlyList<Bf16ArmRun> Runs, IReadOnlyList<long> Seeds)
{
    public IEnumerable<Bf16ArmRun> Of(Bf16Variant v, string arm) => Runs.Where(r => r.Variant == v && r.Arm == arm);
    /// fp32 time / variant time, from the medians over seeds: above 1, the variant is faster.
    public double Speedup(Bf16Variant v, string arm) =>
        Spread.Of(Of(Bf16Variant.Fp32, arm).Select(r => r.TrainSeconds)).Median / Spread.Of(Of(v, arm).Select(r => r.TrainSeconds)).Median;
}

/// The PT+IFT wall time and benchmark score of each arm in fp32, bf16 and bf16 with fp32 master
/// weights, same seeds, interleaved per seed (fp32, bf16, bf16+masters, next seed …) so machine load affects
/// all alike. Prints each variant's time, speed ratio against fp32, scores and final losses, and the fp32
/// seed-to-seed spread to judge the score differences by. Every run trains from scratch (its experiment
/// folder is deleted first); world, foundation models and teachers are built once or reused from out/.
public static class Bf16Perf
{
    public static Bf16Report Run(Bf16Setup setup, IReadOnlyList<long> seeds, IReadOnlyList<Bf16Variant>? variants = null,
                                 Device? device = null, Action<string>? log = null)
    {
        device ??= Core.Devices.Default;
        log ??= Console.WriteLine;
        variants ??= Bf16Variant.All;
        log($"bf16 benchmark: {Core.Devices.Describe(device)}; {Core.Bf16Matmul.Describe()}; {Machine.Describe()}");
        var world = OlaVlm.World.MiniWorld.Build(setup.World, log: log);
        using var mini = FoundationModels.LoadOrTrain(world, setup.Foundation, device, log);
        var parts = FoundationParts.From(mini, device);
        var stored = WorldTeachers.LoadOrTrain(world, setup.Teachers, setup.TeacherTrainLimit, device, log);
        var ptSet = LlavaDataset.Load(world.PtJson);
        using var bank = ImageBank.Load(ptSet);
        var targets = WorldTeachers.Cached(stored.Select(s => (ITeacher)s.Teacher), ptSet, bank, "pt", log: log);
        var runs = new List<Bf16ArmRun>();
        try
        {
            foreach (var seed in seeds)
                foreach (var v in variants)
                {
                    var cfg = v.Apply(setup.Experiment);
                    var dir = Path.Combine(Core.Paths.Out, "experiments", StageCache.Hash(world, parts, targets, cfg, seed));
                    if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);   // train now, do not reuse
                    var clock = Stopwatch.StartNew();
                    var exp = Experiment.RunBaselineAndOla(world, parts, targets, cfg, seed, progress: new SilentProgress(), device: device);
                    double wall = clock.Elapsed.TotalSeconds;
                    foreach (var arm in new[] { exp.Baseline, exp.Ola })
                    {
                        var pt = arm.Stage(StageKind.Pretrain); var ift = arm.Stage(StageKind.Finetune);
                        runs.Add(new Bf16ArmRun(v, seed, arm.Name, pt.History.Sum(h => h.Seconds), ift.History.Sum(h => h.Seconds),
                                                LastLoss(pt), LastLoss(ift), arm.Score.Overall, arm.Score.Items.Average(i => i.Correct ? 1.0 : 0.0)));
                        log($"  seed {seed} {v.Name,-26} {arm.Name,-9} PT+IFT {runs[^1].TrainSeconds,7:F1} s (PT {runs[^1].PtSeconds:F1}, IFT {runs[^1].FinetuneSeconds:F1}), " +
                            $"final loss PT {runs[^1].PtLoss:F4} IFT {runs[^1].FinetuneLoss:F4}, score {100 * arm.Score.Overall:F1} (items right {100 * runs[^1].ItemAccuracy:F1} %)");
                        arm.Model.Dispose();
                    }
                    log($"  seed {seed} {v.Name}: both arms with benchmark answers in {wall:F1} s");
                }
        }
        finally { foreach (var t in targets.Values) t.Dispose(); }
        var report = new Bf16Report(runs, seeds);
        Print(report, variants, log);
        return report;
    }

    /// Mean loss of the stage's last tenth of steps (one batch's loss is too noisy to compare precisions by).
    static double LastLoss(StageResult s)
    {
        var h = s.History;
        if (h.Count == 0) return double.NaN;
        int k = Math.Max(1, h.Count / 10);
        return h.Skip(h.Count - k).Average(x => x.Loss);
    }

    static void Print(Bf16Report r, IReadOnlyList<Bf16Variant> variants, Action<string> log)
    {
        log($"bf16 benchmark summary ({r.Seeds.Count} seeds: {string.Join(", ", r.Seeds)}; medians over seeds, min–max):");
        foreach (var arm in r.Runs.Select(x => x.Arm).Distinct())
        {
            var fp32Scores = r.Of(Bf16Variant.Fp32, arm).Select(x => x.Score).ToList();
            double spread = fp32Scores.Count > 1 ? fp32Scores.Max() - fp32Scores.Min() : double.NaN;
            log($"  {arm}: fp32 seed-to-seed score spread {100 * spread:F1} points (max − min over seeds)");
            foreach (var v in variants)
            {
                var rs = r.Of(v, arm).ToList();
                if (rs.Count == 0) continue;
                var time = Spread.Of(rs.Select(x => x.TrainSeconds));
                var score = Spread.Of(rs.Select(x => x.Score));
                // Paired by seed: the same data order and initial weights, only the precision differs.
                var delta = rs.Select(x => x.Score - r.Of(Bf16Variant.Fp32, arm).First(f => f.Seed == x.Seed).Score).Average();
                var speed = v == Bf16Variant.Fp32 ? "" : $", {r.Speedup(v, arm):F2}× fp32's speed";
                var verdict = v == Bf16Variant.Fp32 || double.IsNaN(spread) ? "" :
                    $"; mean score Δ {100 * delta:+0.0;-0.0} points {(Math.Abs(delta) <= spread ? "(within" : "(OUTSIDE")} the fp32 spread)";
                log($"    {v.Name,-26} PT+IFT {time.Format("0.0")} s{speed}; score {score.Format("0.0", 100)}; " +
                    $"final loss PT {Spread.Of(rs.Select(x => x.PtLoss)).Median:F4}, IFT {Spread.Of(rs.Select(x => x.FinetuneLoss)).Median:F4}{verdict}");
            }
        }
    }
}
