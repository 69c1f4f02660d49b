using OlaVlm.Eval;
using OlaVlm.Experiments;
using OlaVlm.Stages;

namespace OlaCheck.Commands;

/// Both arms (LLaVA-1.5, OLA-VLM) of the default profile's recipe with changed budgets or knobs (RecipeOverrides),
/// scored on the whole benchmark with each task's reply anatomy; cached like any experiment.
public static class Align
{
    public static readonly Command Command = new("align",
        "[pt=80] [ift=120] [onehop=ift/3] [seed=1] [few=N fewmax=2] [ptbatch=] [ptlr=] [iftlr=] [init=] [cand= probe=100 accept=] [projhidden=] [lora=RANK] [clip=DIR]",
        "both arms with these PT/IFT budgets and knobs, scored with reply anatomy (clip=DIR: a ClipRun's vision tower)", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("align", args, settings: ["pt", "ift", "onehop", "seed", "few", "fewmax", "ptbatch", "ptlr", "iftlr", "init", "cand", "probe", "accept", "projhidden", "lora", "clip"]);
        var overrides = new RecipeOverrides
        {
            PtSteps = a.Int("pt", 80), IftSteps = a.Int("ift", 120), OneHopSteps = a.Int("onehop"),
            FewObjectsSteps = a.Int("few"), FewObjectsMax = a.Int("fewmax"), PtBatch = a.Int("ptbatch"),
            PtLr = a.Double("ptlr"), IftLr = a.Double("iftlr"), InitSeedOffset = a.Int("init"),
            InitCandidates = a.Int("cand"), InitProbeSteps = a.Int("probe"), InitAcceptBelow = a.Double("accept"), ProjectorHidden = a.Int("projhidden"),
            LoraRank = a.Int("lora"),
        };
        int seed = a.Int("seed", 1);
        using var ws = Workspace.Open(quick: false, log: Console.WriteLine);
        var cfg = overrides.Apply(ws.Experiment);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var parts = a.Text("clip") is string clip ? ws.WithClip(Path.GetFullPath(clip)) : ws.Foundation;
        var exp = Experiment.RunBaselineAndOla(ws.World, parts, ws.Targets, cfg, seed, device: ws.Device, log: Console.WriteLine);
        Console.WriteLine($"{SeedStudy.Describe(cfg)}; seed {seed}: {sw.Elapsed.TotalSeconds:F0} s");
        foreach (var arm in new[] { exp.Baseline, exp.Ola })
        {
            Console.WriteLine($"{arm.Name}: {string.Join(", ", arm.Score.Records().Where(r => r.Name is "Overall" || r.Name.StartsWith("task/")).Select(r => $"{r.Name} {r.Accuracy:F3}"))}");
            foreach (var row in ReplyAnatomy.Of(exp.Bench, arm.Answers))
                Console.WriteLine($"  {row.Task,-9} conclusion right {(double)row.ConclusionRight / row.Items:F3}, letter follows it {(double)row.LetterFollowsConclusion / row.Items:F3}, correct {(double)row.Correct / row.Items:F3} ({row.Items})");
            for (int i = 0; i < 4; i++)
            {
                int k = i * exp.Bench.Count / 4;
                Console.WriteLine($"  {exp.Bench[k].Task} (answer {exp.Bench[k].Answer}): {arm.Answers[k]}");
            }
        }
        return 0;
    }
}
