using OlaVlm.Ola;
using OlaVlm.Teachers;
using OlaVlm.Training;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Stages;

/// The paper's main comparison in miniature: LLaVA-1.5 (PT → IFT) against OLA-VLM (PT with the embedding loss →
/// IFT) from the same foundation, on the same data in the same order, with the same seed and steps; both answer the
/// benchmark greedily and are scored alike. Results live in out/experiments/ (StageCache).
public static class Experiment
{
    public static ExperimentResult RunBaselineAndOla(WorldData world, FoundationParts f, IReadOnlyDictionary<OlaTask, ITargetSource> targets,
                                                     ExperimentConfig cfg, long seed, IProgressReporter? progress = null, Action<string>? log = null,
                                                     Device? device = null)
    {
        var bench = CvBench.Load(world.BenchJsonl);
        if (cfg.BenchLimit > 0) bench = bench.Take(cfg.BenchLimit).ToList();
        using var pools = new RecipeData(world, f.Tokenizer, f.Template, cfg.IftDataFraction);
        var inputs = new ArmInputs(world, f, targets, cfg, seed, pools, bench, device ?? Core.Devices.Default, progress, log ?? (_ => { }));

        var baseline = Arm.Train("baseline", null, inputs);
        var ola = Arm.Train("ola", cfg.Ola.ForTeachers(targets), inputs);

        var hash = StageCache.Hash(world, f, targets, cfg, seed);
        return new ExperimentResult(Core.Paths.OutDir("experiments", hash), hash, baseline, ola, bench);
    }
}
