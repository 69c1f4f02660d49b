using OlaCheck;
using OlaCheck.Commands;
using OlaVlm.Core;

// OlaCheck: the workspace's command line. Machine checks (is this machine's libtorch right and deterministic?),
// shipping the foundations and teachers in data/, research runs outside the notebooks, and step timings.
// `dotnet run --project src/OlaCheck -c Release -- COMMAND ...`; `-- help` lists them.
Command[] commands =
[
    // machine checks
    Conv.Command, Bf16.Command, ScalarRaceCheck.Command, Fingerprint.Command,
    // what data/ ships
    Foundations.Command, Teachers.Command,
    // research runs
    Align.Command, PlateauScreen.Command, Seeds.Command, AblationSweep.Command, Clip.Command, Reasoning.Command, Oracle.Command,
    // full scale: real checkpoints, real teachers, CV-Bench
    FullScale.Command,
    // timings
    PtStep.Command,
    // robustness: what the fault-injection tests run, and a shipped folder against a regenerated one
    TinyTrain.Command, CompareShipped.Command,
];

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine("usage: OlaCheck COMMAND [arguments]\n");
    foreach (var c in commands) Console.WriteLine($"  {c.Name} {c.Usage}\n      {c.About}");
    return args.Length == 0 ? 1 : 0;
}
var command = commands.FirstOrDefault(c => c.Name == args[0]);
if (command is null)
{
    Console.Error.WriteLine($"OlaCheck: unknown command '{args[0]}' (known: {string.Join(", ", commands.Select(c => c.Name))})");
    return 1;
}
Console.WriteLine(OneDnn.Apply());
// Ctrl+C stops training at its next step boundary, checkpointed (a second Ctrl+C ends the process at once).
Console.CancelKeyPress += (_, e) => { e.Cancel = !Interrupt.Requested; Interrupt.Request(); };
try
{
    return command.Run(args[1..]);
}
catch (UsageException e)
{
    Console.Error.WriteLine($"OlaCheck {e.Message}\nusage: OlaCheck {command.Name} {command.Usage}");
    return 1;
}
catch (OlaVlm.Training.TrainingInterruptedException e)
{
    Console.Error.WriteLine($"OlaCheck: {e.Message}");
    return 130;
}
