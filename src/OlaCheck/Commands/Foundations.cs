using OlaVlm.Core;
using OlaVlm.Foundation;
using OlaVlm.World;

namespace OlaCheck.Commands;

/// Pre-trains the default profile's mini CLIP and mini LLM (with the reasoning phase and its text-oracle score) from
/// scratch, deterministically, and ships them with SHA-256 to DIR (default data/foundation):
/// environment/pretrain-foundations.sh runs this.
public static class Foundations
{
    public static readonly Command Command = new("foundations", "[--quick] [--ship DIR] [--reuse] [--llm-from DIR]",
        "pre-trains the mini CLIP and LLM and ships them (default data/foundation); --llm-from DIR takes the LLM over", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("foundations", args, flags: ["--quick", "--reuse"], options: ["--ship", "--llm-from"]);
        bool quick = a.Flag("--quick");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var world = MiniWorld.Build(quick ? WorldConfig.Quick : new WorldConfig(), log: Console.WriteLine);
        var config = quick ? FoundationConfig.Quick : new FoundationConfig();
        // --reuse ships what out/models already holds for this config and world (trained by an earlier run).
        // --llm-from DIR takes the LLM over from the finished foundation in DIR when only the CLIP's recipe differs
        // (checked: LLM knobs, world, LLM code version, file hashes) instead of training it again (~32 min).
        string? llmFrom = a.Option("--llm-from") is string l ? Path.GetFullPath(l) : null;
        using var m = FoundationModels.LoadOrTrain(world, config, Devices.Default, Console.WriteLine, retrain: !a.Flag("--reuse"), llmFrom: llmFrom);
        Console.WriteLine($"mini CLIP: {m.ClipReport}");
        Console.WriteLine($"mini LLM: {m.LlmReport}");
        Console.WriteLine($"{m.Oracle}");
        string? ship = a.Option("--ship") is string s ? Path.GetFullPath(s) : null;
        var dest = FoundationModels.Ship(m, ship ?? (quick ? null : FoundationModels.ShippedDir));
        Console.WriteLine($"shipped to {dest} after {sw.Elapsed.TotalMinutes:F1} min");
        return 0;
    }
}
