using System.Diagnostics;
using OlaVlm.Data;
using OlaVlm.Foundation;
using OlaVlm.Ola;
using OlaVlm.Stages;
using OlaVlm.Teachers;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Experiments;

/// How long one ingredient took to get ready, and where it came from (cache, shipped, trained now).
public sealed record IngredientTime(string Ingredient, double Seconds, string Source);

/// Every ingredient notebooks 03–06 share, behind one call: the world, the foundation models (shipped or
/// cached), the three mini teachers, their PT targets, and the measurement recipe of the current profile.
/// Each ingredient is built once and cached under out/; a notebook reopened after a kernel restart only
/// loads (LoadTimes shows what each part cost).
public sealed class Workspace : IDisposable
{
    public required Device Device { get; init; }
    public required WorldConfig WorldConfig { get; init; }
    public required WorldData World { get; init; }
    public required MiniFoundation Mini { get; init; }
    public required FoundationParts Foundation { get; init; }
    public required IReadOnlyList<StoredTeacher> Stored { get; init; }
    public required IReadOnlyList<ITeacher> Teachers { get; init; }
    public required LlavaDataset PtSet { get; init; }
    public required IReadOnlyDictionary<OlaTask, ITargetSource> Targets { get; init; }
    /// The recipe both arms train with in notebooks 03–06 (ExperimentArms.QuickMeasurement / FullMeasurement).
    public required ExperimentConfig Experiment { get; init; }
    public required IReadOnlyList<IngredientTime> LoadTimes { get; init; }

    /// The settings of the current profile (Core.Profile: quick in CI and the tests, full otherwise).
    public static Workspace Open(Device? device = null, Action<string>? log = null) =>
        Open(Core.Profile.IsQuick, device, log);

    public static Workspace Open(bool quick, Device? device = null, Action<string>? log = null)
    {
        device ??= Core.Devices.Default;
        log ??= _ => { };
        var times = new List<IngredientTime>();
        T Timed<T>(string what, Func<T> make, Func<T, string> source)
        {
            var sw = Stopwatch.StartNew();
            var value = make();
            times.Add(new IngredientTime(what, sw.Elapsed.TotalSeconds, source(value)));
            return value;
        }
        var worldConfig = quick ? WorldConfig.Quick : new WorldConfig();
        var world = Timed("world", () => MiniWorld.Build(worldConfig, log: log), w => w.Root);
        var mini = Timed("foundation (mini CLIP + LLM)", () => FoundationModels.LoadOrTrain(world, quick ? FoundationConfig.Quick : new FoundationConfig(), device, log),
                         m => (m.TrainedNow ? "trained now: " : "loaded: ") + m.Dir);
        var parts = FoundationParts.From(mini, device);
        var stored = Timed("teachers (depth, seg, gen)", () => WorldTeachers.LoadOrTrain(world, quick ? new TeacherTrainConfig { Steps = 60 } : new TeacherTrainConfig(),
                                                                                      trainLimit: quick ? 120 : null, device: device, log: log),
                           s => s.Any(t => t.TrainedNow) ? "trained now"
                                : (s.All(t => t.Shipped) ? "shipped: " : "loaded: ") + string.Join(", ", s.Select(t => Path.GetDirectoryName(t.WeightsPath)).Distinct()));
        var teachers = stored.Select(s => (ITeacher)s.Teacher).ToList();
        var ptSet = Timed("PT conversations", () => LlavaDataset.Load(world.PtJson), d => $"{d.Records.Count} records");
        var ptTargets = Timed("teacher targets (PT images)", () => WorldTeachers.Cached(teachers, ptSet, () => ImageBank.Load(ptSet), "pt", log: log),
                              t => "memory-mapped caches");
        // IFT images' targets are built the first time a recipe asks for one: only the embedding loss in IFT does (an
        // ablation), so the main job never pays for them.
        var iftTargets = new Lazy<Dictionary<OlaTask, ITargetSource>>(() =>
        {
            var ift = LlavaDataset.Load(world.IftJson);
            return WorldTeachers.Cached(teachers, ift, () => ImageBank.Load(ift), "ift", log: log);
        });
        var targets = ptTargets.ToDictionary(kv => kv.Key, kv => (ITargetSource)new SplitTargets((TargetCache)kv.Value, () => iftTargets.Value[kv.Key]));
        return new Workspace
        {
            Device = device, WorldConfig = worldConfig, World = world, Mini = mini, Foundation = parts, Stored = stored, Teachers = teachers,
            PtSet = ptSet, Targets = targets, LoadTimes = times,
            Experiment = quick ? ExperimentArms.QuickMeasurement : ExperimentArms.FullMeasurement,
        };
    }

    /// Both arms at `seed` with this workspace's recipe (cached under out/experiments/<hash>/).
    public ExperimentResult Run(long seed, ExperimentConfig? config = null, Action<string>? log = null) =>
        Stages.Experiment.RunBaselineAndOla(World, Foundation, Targets, config ?? Experiment, seed, device: Device, log: log);

    /// An ablation sweep over `seeds` with this workspace's recipe: each variant's OlaConfig replaces the recipe's
    /// (null = LLaVA-1.5), trained like Run (so the reference OLA-VLM and LLaVA-1.5 come from the main experiments' cache),
    /// scored with the reference parsing; results cached under out/ablations.
    public AblationSweepResult Ablate(IReadOnlyList<AblationVariant> variants, IReadOnlyList<int> seeds, Action<string>? log = null)
    {
        var runner = ExperimentArms.AblationRunner((cfg, seed) => Run(seed, cfg, log), Experiment, Eval.AnswerParsing.Reference);
        // Everything the runner depends on besides the variant and seed (the variant replaces Experiment.Ola).
        var tag = Ablations.Tag(World.Root, Foundation.LlavaConfig, Teachers.Select(t => t.WeightsHash).ToList(), Experiment with { Ola = OlaConfig.Miniature });
        return Ablations.Run(variants, seeds, runner, tag, log: log);
    }

    /// What a report's Setup section says about this workspace and a measurement over `seeds`.
    public IReadOnlyDictionary<string, string> Describe(BenchSet bench, IEnumerable<int> seeds, IEnumerable<int> probedSeeds, IEnumerable<int> ablationSeeds) =>
        new Dictionary<string, string>
        {
            ["profile"] = Core.Profile.Current, ["world"] = World.Root, ["device"] = Device.ToString(),
            ["LLM"] = $"{Foundation.Llm.Config.NumLayers} layers, hidden {Foundation.Llm.Config.HiddenSize}",
            ["benchmark"] = $"{bench.Items.Count} items of {World.BenchJsonl}, reference CV-Bench parsing",
            ["benchmark seeds"] = string.Join(",", seeds), ["probed seeds"] = string.Join(",", probedSeeds.Distinct()),
            ["ablation seeds"] = string.Join(",", ablationSeeds),
        };

    /// The foundation with the vision tower of the mini CLIP saved in `clipDir` (a ClipRun's output) instead of the
    /// shipped one; the LLM and tokenizer stay.
    public FoundationParts WithClip(string clipDir)
    {
        using var clip = MiniClip.Load(clipDir, Device);
        return Foundation with { Vision = MiniClip.VisionTower(clip, Device) };
    }

    public void Dispose()
    {
        foreach (var t in Targets.Values) (t as IDisposable)?.Dispose();
        Mini.Dispose();
    }
}
