using System.ComponentModel;
using System.Text.Json;
using OlaVlm.Eval;
using OlaVlm.Stages;

namespace OlaVlm.Experiments;

/// One arm at one seed: its benchmark scores, where its replies put the asked objects, its PT loss, and whether it
/// sits on the plateau (Eval.Plateau, the criterion fixed before the study).
public sealed record SeedArm(
    int Seed, string Arm, double Overall, double Count, double Relation, double Depth, double Distance,
    [property: DisplayName("column right")] double ColumnShare,
    [property: DisplayName("PT loss, last 50 steps")] double? PtLoss,
    [property: DisplayName("on the plateau")] bool OnPlateau,
    [property: DisplayName("training seconds")] double? TrainSeconds = null,
    [property: DisplayName("PT starts tried")] int? PtStartsTried = null,
    [property: DisplayName("PT start that went on")] int? PtStart = null)
{
    /// Seconds one stage trained, read from its step log (logged seconds per step × steps); null without a log.
    public static double? StageSeconds(IReadOnlyList<IReadOnlyDictionary<string, double>> metrics)
    {
        var rows = metrics.Where(m => m.ContainsKey("sec_per_step") && m.ContainsKey("step")).ToList();
        return rows.Count == 0 ? null : rows.Average(m => m["sec_per_step"]) * rows.Max(m => m["step"]);
    }
}

/// How often an arm ended on the plateau over the study's seeds, with the 95 % Wilson interval of that rate.
public sealed record PlateauRate(string Arm, int Seeds, [property: DisplayName("on the plateau")] int On, double Lower, double Upper);

/// The seed study: both arms of one recipe at many seeds, each seed's scores and plateau verdict, how often each arm
/// plateaus, and the paired OLA-VLM − LLaVA-1.5 difference per metric over all seeds and over the seeds where
/// neither arm plateaued. Written to out/report/seed-study.{md,json}; `OlaCheck seeds` runs it at seeds 1–8.
public sealed record SeedStudy(string Recipe, IReadOnlyList<SeedArm> Arms, IReadOnlyList<PlateauRate> Plateaus,
                               IReadOnlyList<BenchRow> Differences, IReadOnlyList<BenchRow> DifferencesOffPlateau, double Seconds)
{
    public static readonly string[] Metrics = ["Overall", "task/Count", "task/Relation", "task/Depth", "task/Distance"];
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// Trains (or loads from the cache) both arms at every seed with `config` (default: the workspace's recipe).
    public static SeedStudy Run(Workspace ws, IEnumerable<int> seeds, ExperimentConfig? config = null, Action<string>? log = null)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var scenes = ws.World.Scenes("bench");
        var arms = new List<SeedArm>();
        foreach (int seed in seeds)
        {
            var exp = ws.Run(seed, config, log);
            foreach (var (arm, name) in new[] { (exp.Baseline, ExperimentArms.BaselineName), (exp.Ola, ExperimentArms.OlaName) })
            {
                var acc = arm.Score.Records().ToDictionary(r => r.Name, r => r.Accuracy);
                var pt = arm.Stage(StageKind.Pretrain);
                var starts = InitSelection.Outcome(pt.RunDir);   // the restart rule's record; null when PT had one start
                var plateau = Plateau.Of(FactReading.Of(exp.Bench, scenes, arm.Answers, ws.WorldConfig.ImageSize), pt.Metrics);
                arms.Add(new SeedArm(seed, name, acc["Overall"], acc.GetValueOrDefault("task/Count", double.NaN), acc.GetValueOrDefault("task/Relation", double.NaN),
                                     acc.GetValueOrDefault("task/Depth", double.NaN), acc.GetValueOrDefault("task/Distance", double.NaN),
                                     plateau.ColumnShare, plateau.PtLossLast50, plateau.On,
                                     SeedArm.StageSeconds(pt.Metrics) + SeedArm.StageSeconds(arm.Stage(StageKind.Finetune).Metrics),
                                     starts?.Tried ?? 1, starts?.Winner ?? 0));
                log?.Invoke($"seed {seed} {name}: overall {acc["Overall"]:F3}, column right {plateau.ColumnShare:F2}{(plateau.On ? " (on the plateau)" : "")}" +
                            (starts is { Winner: > 0 } ? $", PT restarted: start {starts.Value.Winner} of {starts.Value.Tried} went on" : ""));
            }
            exp.Baseline.Model.Dispose();
            exp.Ola.Model.Dispose();
        }
        return Summarise(Describe(config ?? ws.Experiment), arms, sw.Elapsed.TotalSeconds);
    }

    public static SeedStudy Summarise(string recipe, IReadOnlyList<SeedArm> arms, double seconds)
    {
        var plateaus = arms.GroupBy(a => a.Arm).Select(g =>
        {
            int n = g.Count(), on = g.Count(a => a.OnPlateau);
            var (lo, hi) = Ladder.Wilson(on, n);
            return new PlateauRate(g.Key, n, on, lo, hi);
        }).ToList();
        var pairs = arms.GroupBy(a => a.Seed).Where(g => g.Count() == 2)
            .Select(g => (L: g.Single(a => a.Arm == ExperimentArms.BaselineName), O: g.Single(a => a.Arm == ExperimentArms.OlaName))).ToList();
        // No rows when no seed qualifies (e.g. every seed has an arm on the plateau): there is nothing to pair.
        IReadOnlyList<BenchRow> Diffs(string label, IEnumerable<(SeedArm L, SeedArm O)> ps) => !ps.Any() ? [] :
            Metrics.Select(m => BenchEvaluation.Difference(label, m, ps.Select(p => Value(p.O, m) - Value(p.L, m)).ToList())).ToList();
        return new SeedStudy(recipe, arms, plateaus, Diffs("OLA-VLM − LLaVA-1.5, every seed", pairs),
                             Diffs("OLA-VLM − LLaVA-1.5, seeds where neither arm plateaued", pairs.Where(p => !p.L.OnPlateau && !p.O.OnPlateau)), seconds);
    }

    static double Value(SeedArm a, string metric) => metric switch
    {
        "Overall" => a.Overall, "task/Count" => a.Count, "task/Relation" => a.Relation, "task/Depth" => a.Depth, "task/Distance" => a.Distance,
        _ => throw new ArgumentException($"SeedStudy: no metric '{metric}'"),
    };

    /// One line naming what the study trained: PT and IFT steps, task tokens per task.
    public static string Describe(ExperimentConfig c) =>
        $"PT {c.Pretrain.Steps} steps ({c.Pretrain.FewObjectsSteps} few-object) at {c.Pretrain.ProjectorLr:G3}, IFT {c.Finetune.Steps} ({c.Finetune.OneHopSteps} one-hop), " +
        $"{c.Ola.NumTaskTokens} task token(s) per task, projector hidden {c.ProjectorHidden?.ToString() ?? "= LLM width"}" +
        (c.Pretrain.InitCandidates > 1
            ? c.Pretrain.InitAcceptBelow > 0
                ? $", PT restarted when its next-token loss over steps {c.Pretrain.InitProbeSteps - c.Pretrain.InitProbeSteps / 4 + 1}–{c.Pretrain.InitProbeSteps} is above {c.Pretrain.InitAcceptBelow:G3} (up to {c.Pretrain.InitCandidates} starts)"
                : $", PT from the best of {c.Pretrain.InitCandidates} starts at step {c.Pretrain.InitProbeSteps}"
            : "");

    /// Writes out/report/seed-study.{json,md} (or into `dir`); returns the markdown's path.
    public string Write(string? dir = null)
    {
        dir ??= Core.Paths.OutDir("report");
        File.WriteAllText(Path.Combine(dir, "seed-study.json"), JsonSerializer.Serialize(this, Json));
        var md = Path.Combine(dir, "seed-study.md");
        File.WriteAllText(md, SeedStudyReport.Markdown(this));
        return md;
    }

    /// The study `OlaCheck seeds` wrote, or null when none was run.
    public static SeedStudy? ReadIfWritten(string? dir = null)
    {
        var path = Path.Combine(dir ?? Core.Paths.OutDir("report"), "seed-study.json");
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<SeedStudy>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a seed study ({e.Message})", e); }
    }
}
