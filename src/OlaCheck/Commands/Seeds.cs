using OlaVlm.Experiments;

namespace OlaCheck.Commands;

/// The seed study (Experiments.SeedStudy): both arms of the main job's recipe at seeds FROM..TO, each seed's scores and
/// plateau verdict, the plateau rates and the paired differences; writes out/report/seed-study.{md,json}. Trained arms
/// are cached like any experiment, so the main job's seeds are reused and an interrupted study goes on where it stopped.
public static class Seeds
{
    public static readonly Command Command = new("seeds", "[from=1] [to=8] [--quick]",
        "the seed study: both arms at seeds from..to, plateau verdicts, paired differences (out/report/seed-study.md)", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("seeds", args, flags: ["--quick"], settings: ["from", "to"]);
        int from = a.Int("from", 1), to = a.Int("to", 8);
        if (to < from) throw new UsageException($"seeds: to={to} is before from={from}");
        using var ws = Workspace.Open(quick: a.Flag("--quick"), log: Console.WriteLine);
        var study = SeedStudy.Run(ws, Enumerable.Range(from, to - from + 1), log: Console.WriteLine);
        var md = study.Write();
        Console.WriteLine(File.ReadAllText(md));
        Console.WriteLine($"wrote {md} ({study.Seconds / 60:F1} min)");
        return 0;
    }
}
