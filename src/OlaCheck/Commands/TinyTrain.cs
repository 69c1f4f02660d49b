using System.Text.Json;
using OlaVlm.Diagnostics;

namespace OlaCheck.Commands;

/// Trains a tiny PT stage in DIR, printing "step N" after every step, and writes DIR/result.json (losses and a hash of
/// the weights): the child process the fault-injection tests kill at chosen moments and run again (a rerun resumes).
public static class TinyTrain
{
    public static readonly Command Command = new("tiny-train", "DIR [--steps N] [--checkpoint-every K] [--width W]",
        "a tiny PT stage in DIR (resumes when run again); prints each step, writes DIR/result.json", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("tiny-train", args, options: ["--steps", "--checkpoint-every", "--width"]);
        var dir = Path.GetFullPath(a.Positional(0) ?? throw new UsageException("tiny-train: DIR is missing"));
        int Int(string option, int fallback) => a.Option(option) is string s ? int.Parse(s) : fallback;
        var o = new TinyStageRun.Options(Steps: Int("--steps", 12), CheckpointEvery: Int("--checkpoint-every", 0), Width: Int("--width", 32));
        var result = TinyStageRun.Run(dir, o, line => { Console.WriteLine(line); Console.Out.Flush(); });
        File.WriteAllText(Path.Combine(dir, "result.json"), result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine("done");
        return 0;
    }
}
