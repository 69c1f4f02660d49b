using OlaVlm.Core;
using OlaVlm.Diagnostics;

namespace OlaCheck.Commands;

/// Scalar operations beside an allocating thread: counts "Expected false to be true" errors (TorchSharp's Scalar
/// finalizer race; 0 with the build's guard, environment/build/TorchSharpNativePatches.cs).
public static class ScalarRaceCheck
{
    public static readonly Command Command = new("scalar-race", "[SECONDS]", "scalar ops beside an allocating thread: errors from the Scalar finalizer race", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("scalar-race", args);
        int seconds = a.PositionalInt(0, 20);
        Console.WriteLine(ScalarLifetime.Status);
        var race = ScalarRace.Run(TimeSpan.FromSeconds(seconds));
        Console.WriteLine($"{race} in {seconds} s");
        return race.Errors + race.Wrong > 0 ? 2 : 0;
    }
}
