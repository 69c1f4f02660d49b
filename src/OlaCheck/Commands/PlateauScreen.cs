using OlaVlm.Eval;
using OlaVlm.Experiments;
using OlaVlm.Ola;
using OlaVlm.Stages;
using OlaVlm.Teachers;

namespace OlaCheck.Commands;

/// The plateau screen: LLaVA-1.5's PT alone (or OLA-VLM's: arm=ola; the main job's recipe, or it changed by RecipeOverrides) at each seed,
/// and its mean next-token loss over PT's last 50 steps (Eval.Plateau.PtLoss, the early warning: runs that left the
/// plateau ended at 0.95–1.21, runs on it at 1.25–1.66). About a minute a seed on 2 cores, a fifth of both arms'
/// full training, so a change to the shared recipe can be screened on seeds the study does not report (9 and above).
/// Nothing is cached: each seed trains in a temporary folder under out/screens/ that is removed after.
public static class PlateauScreen
{
    public static readonly Command Command = new("screen",
        "[from=9] [to=20] [arm=llava|ola] [stop=] [init=] [cand= probe= accept=] [pt=] [few=] [fewmax=2] [ptbatch=] [ptlr=] [warmup=] [projhidden=]",
        "one arm's PT alone at seeds from..to: PT loss over the last 50 steps per seed (the plateau's early warning), or over steps 3N/4..N with stop=N", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("screen", args, settings: ["from", "to", "arm", "stop", "init", "cand", "probe", "accept", "pt", "few", "fewmax", "ptbatch", "ptlr", "warmup", "projhidden"]);
        int from = a.Int("from", 9), to = a.Int("to", 20);
        if (to < from) throw new UsageException($"screen: to={to} is before from={from}");
        // stop=N: only PT's first N steps (the recipe's schedule, cut there), scored as InitSelection scores a start.
        int? stop = a.Int("stop");
        // arm=ola: OLA-VLM's PT instead (its next-token loss; the embedding loss is trained but not scored).
        bool ola = (a.Text("arm") ?? "llava") switch
        {
            "llava" => false, "ola" => true,
            var other => throw new UsageException($"screen: arm={other} is neither llava nor ola"),
        };
        string armName = ola ? "OLA-VLM" : "LLaVA-1.5";
        var overrides = new RecipeOverrides
        {
            PtSteps = a.Int("pt"), FewObjectsSteps = a.Int("few"), FewObjectsMax = a.Int("fewmax"), PtBatch = a.Int("ptbatch"),
            PtLr = a.Double("ptlr"), PtWarmupRatio = a.Double("warmup"), ProjectorHidden = a.Int("projhidden"),
            InitSeedOffset = a.Int("init"), InitCandidates = a.Int("cand"), InitProbeSteps = a.Int("probe"), InitAcceptBelow = a.Double("accept"),
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
                if (stop is int n && (n < 1 || n >= sc.Steps)) throw new UsageException($"screen: stop={n} must be within 1..{sc.Steps - 1}");
                OlaVlmModel NewModel(long init)
                {
                    var llava = ws.Foundation.NewLlava(init, ws.Device, cfg.ProjectorHidden);
                    using (TorchSharp.torch.manual_seed(init + 1)) { }   // as Arm.NewModel: OLA-VLM's modules from the same seed
                    return OlaVlmModel.Create(llava, ola ? cfg.Ola.ForTeachers(ws.Targets) : null);
                }
                var data = Pretraining.Data(pools, sc);
                long init = seed + sc.InitSeedOffset;
                // The recipe's restart rule (or best of k), as Arm runs it: the start that goes on continues from its probe.
                using var model = sc.InitCandidates > 1
                    ? InitSelection.Pick(NewModel, init, sc, data, ws.Targets, dir, title: $"{armName} PT seed {seed}", log: Console.WriteLine).Model
                    : NewModel(init);
                var r = Stage.Run(model, sc, data, ws.Targets, dir, stopAfter: stop, title: $"{armName} PT seed {seed}", log: _ => { });
                double loss = stop is int s ? InitSelection.Score(r.Metrics, s, dir)
                    : Plateau.PtLoss(r.Metrics) ?? throw new InvalidDataException($"{dir}: PT logged no next-token loss");
                losses.Add((seed, loss));
                Console.WriteLine($"seed {seed}: PT loss ({(stop is int k ? $"steps {k - k / 4 + 1}..{k}" : $"last {Plateau.LastSteps} steps")}) {loss:F3} ({sw.Elapsed.TotalSeconds:F0} s)");
            }
            finally   // also when the seed throws or is interrupted (Ctrl+C)
            {
                foreach (var d in new[] { dir }.Concat(Enumerable.Range(0, Math.Max(sc.InitCandidates, 1)).Select(i => $"{dir}-init{i}")))
                    if (Directory.Exists(d)) Directory.Delete(d, recursive: true);
            }
        }
        Console.WriteLine($"{SeedStudy.Describe(cfg)}; PT batch {cfg.Pretrain.EffectiveBatch}, warm-up {cfg.Pretrain.WarmupRatio}");
        Console.WriteLine("| seed | " + string.Join(" | ", losses.Select(l => l.Seed)) + " |");
        Console.WriteLine("| PT loss | " + string.Join(" | ", losses.Select(l => l.Loss.ToString("F3"))) + " |");
        return 0;
    }
}
