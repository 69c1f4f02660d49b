using OlaVlm.Eval;
using OlaVlm.Experiments;
using OlaVlm.Ola;
using OlaVlm.Stages;

namespace OlaCheck.Commands;

/// The plateau screen: LLaVA-1.5's PT alone (the main job's recipe, or it changed by RecipeOverrides) at each seed,
/// and its mean next-token loss over PT's last 50 steps (Eval.Plateau.PtLoss, the early warning: runs that left the
/// plateau ended at 0.95–1.21, runs on it at 1.25–1.66). About a minute a seed on 2 cores, a fifth of both arms'
/// full training, so a change to the shared recipe can be screened on seeds the study does not report (9 and above).
/// Nothing is cached: each seed trains in a temporary folder under out/screens/ that is removed after.
public static class PlateauScreen
{
    public static readonly Command Command = new("screen",
        "[from=9] [to=20] [pt=] [few=] [fewmax=2] [ptbatch=] [ptlr=] [warmup=] [projhidden=]",
        "LLaVA-1.5's PT alone at seeds from..to: PT loss over the last 50 steps per seed (the plateau's early warning)", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("screen", args, settings: ["from", "to", "pt", "few", "fewmax", "ptbatch", "ptlr", "warmup", "projhidden"]);
        int from = a.Int("from", 9), to = a.Int("to", 20);
        if (to < from) throw new UsageException($"screen: to={to} is before from={from}");
        var overrides = new RecipeOverrides
        {
            PtSteps = a.Int("pt"), FewObjectsSteps = a.Int("few"), FewObjectsMax = a.Int("fewmax"), PtBatch = a.Int("ptbatch"),
            PtLr = a.Double("ptlr"), PtWarmupRatio = a.Double("warmup"), ProjectorHidden = a.Int("projhidden"),
        };
        using var ws = Workspace.Open(quick: false, log: Console.WriteLine);
        var cfg = overrides.Apply(ws.Experiment);
        using var pools = new RecipeData(ws.World, ws.Foundation.Tokenizer, ws.Foundation.Template);
        var losses = new List<(int Seed, double Loss)>();
        foreach (int seed in Enumerable.Range(from, to - from + 1))
        {
            var sc = Arm.Stages(cfg, seed).First();
            var dir = OlaVlm.Core.Paths.OutDir("screens", $"seed{seed}-{Guid.NewGuid():N}");
            var sw = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                using var model = OlaVlmModel.Create(ws.Foundation.NewLlava(seed + sc.InitSeedOffset, ws.Device, cfg.ProjectorHidden), null);
                var r = Stage.Run(model, sc, Pretraining.Data(pools, sc), ws.Targets, dir, title: $"LLaVA-1.5 PT seed {seed}", log: _ => { });
                double loss = Plateau.PtLoss(r.Metrics) ?? throw new InvalidDataException($"{dir}: PT logged no next-token loss");
                losses.Add((seed, loss));
                Console.WriteLine($"seed {seed}: PT loss (last {Plateau.LastSteps} steps) {loss:F3} ({sw.Elapsed.TotalSeconds:F0} s)");
            }
            finally { Directory.Delete(dir, recursive: true); }   // also when the seed throws or is interrupted (Ctrl+C)
        }
        Console.WriteLine($"PT {cfg.Pretrain.Steps} steps × {cfg.Pretrain.EffectiveBatch} (few-object {cfg.Pretrain.FewObjectsSteps}), lr {cfg.Pretrain.ProjectorLr}, " +
                          $"warm-up {cfg.Pretrain.WarmupRatio}, projector hidden {cfg.ProjectorHidden?.ToString() ?? "LLM width"}");
        Console.WriteLine("| seed | " + string.Join(" | ", losses.Select(l => l.Seed)) + " |");
        Console.WriteLine("| PT loss | " + string.Join(" | ", losses.Select(l => l.Loss.ToString("F3"))) + " |");
        return 0;
    }
}
