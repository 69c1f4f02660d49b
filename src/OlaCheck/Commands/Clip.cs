using OlaVlm.Core;
using OlaVlm.Foundation;
using OlaVlm.World;

namespace OlaCheck.Commands;

/// A mini-CLIP recipe tried alone (ClipRun): the default profile's CLIP with these FoundationConfig overrides, trained
/// into out/clipcheck/<tag>/, then its retrieval and patch probes. `align clip=out/clipcheck/<tag>` trains both arms on it.
public static class Clip
{
    public static readonly Command Command = new("clip", "[steps=3000] [neg=1] [batch=32] [lr=0.003] [seg=1] [centre=1]",
        "a mini CLIP with these knobs, its retrieval and patch probes (out/clipcheck/<tag>)", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("clip", args, settings: ["steps", "neg", "batch", "lr", "seg", "centre"]);
        var f0 = new FoundationConfig();
        var f = f0 with
        {
            ClipSteps = a.Int("steps", f0.ClipSteps), ClipHardNegatives = a.Int("neg", f0.ClipHardNegatives),
            ClipBatch = a.Int("batch", f0.ClipBatch), ClipLr = a.Double("lr", f0.ClipLr),
            ClipSegWeight = a.Double("seg", f0.ClipSegWeight), ClipCentreWeight = a.Double("centre", f0.ClipCentreWeight),
        };
        var world = MiniWorld.Build(new WorldConfig(), log: Console.WriteLine);
        string outDir = Path.Combine(Paths.OutDir("clipcheck"), ClipRun.Tag(f));
        var (report, probes) = ClipRun.Run(world, f, outDir, log: Console.WriteLine);
        Console.WriteLine($"{ClipRun.Tag(f)}: {report} ({report.TrainSeconds:F0} s)");
        foreach (var p in probes)
            Console.WriteLine($"  probe {p.Property,-45} {p.Features,-15} trained {p.Accuracy:F3}  random tower {p.RandomTower:F3}  majority {p.Majority:F3}");
        Console.WriteLine($"wrote {outDir}");
        return 0;
    }
}
