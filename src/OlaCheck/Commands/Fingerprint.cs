using System.Text.Json;
using OlaVlm.Diagnostics;

namespace OlaCheck.Commands;

/// Runs the whole pipeline for a few steps per stage in a fresh folder and writes its fingerprint: two runs with
/// the same settings must write identical files (tests/…/DeterminismTests).
public static class Fingerprint
{
    public static readonly Command Command = new("fingerprint", "DIR [--steps N]", "the pipeline for N (20) steps per stage in DIR; writes DIR/fingerprint.json", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("fingerprint", args, options: ["--steps"]);
        var dir = Path.GetFullPath(a.Positional(0) ?? throw new UsageException("fingerprint: DIR is missing"));
        int steps = a.Option("--steps") is string s ? int.Parse(s) : 20;
        Directory.CreateDirectory(dir);
        // Everything the pipeline caches goes under DIR, so two runs share nothing but the code.
        Environment.SetEnvironmentVariable("OLA_OUT", dir);
        var fp = DeterminismFingerprint.Run(dir, steps, log: Console.WriteLine);
        var file = Path.Combine(dir, "fingerprint.json");
        File.WriteAllText(file, fp.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {file}");
        return 0;
    }
}
