using OlaVlm.Experiments;

namespace OlaCheck.Commands;

/// The ablation sweep outside the main job: the main job's one (OLA-VLM without task tokens) or, with --paper, the
/// paper's (task tokens 0 / ratio / 2×, λ, contrastive term, embedding loss in PT only or PT+IFT, layer sets, teacher
/// subsets), each at the given seeds, as paired differences to OLA-VLM; writes out/report/ablations.md (--paper:
/// ablations-paper.md).
public static class AblationSweep
{
    public static readonly Command Command = new("ablations", "[--paper] [seeds=1,2,3] [only=GROUP|GROUP:VARIANT;...]",
        "the ablation sweep (--paper: the paper's) as paired differences to OLA-VLM (out/report/ablations.md)", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("ablations", args, flags: ["--paper"], settings: ["seeds", "only"]);
        var seeds = (a.Text("seeds") ?? "1,2,3").Split(',').Select(s => int.TryParse(s, out var n) && n >= 0 ? n
            : throw new UsageException($"ablations: seeds={a.Text("seeds")} is not a comma-separated list of seeds")).ToList();
        using var ws = Workspace.Open(quick: false, log: Console.WriteLine);
        var variants = a.Flag("--paper") ? Ablations.Standard(ws.Experiment.Ola) : Ablations.Quick(ws.Experiment.Ola);
        // only=: part of the sweep (e.g. "teachers;layers:late {24,28}"); the rest stays in the cache for a later run.
        if (a.Text("only") is string only)
            try { variants = Ablations.Only(variants, only.Split(';', StringSplitOptions.RemoveEmptyEntries)); }
            catch (ArgumentException e) { throw new UsageException("ablations: only=" + only + ": " + e.Message); }
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var sweep = ws.Ablate(variants, seeds, Console.WriteLine);
        var md = AblationReport.Write(sweep, "OlaCheck ablations " + string.Join(" ", args), sw.Elapsed.TotalSeconds,
                                     Path.Combine(OlaVlm.Core.Paths.OutDir("report"), a.Flag("--paper") ? "ablations-paper.md" : "ablations.md"));
        Console.WriteLine(File.ReadAllText(md));
        Console.WriteLine($"wrote {md}");
        return 0;
    }
}
