using OlaVlm.Core;

namespace OlaCheck.Commands;

/// 240 conv2d shapes against float64, with oneDNN on and off (README, Troubleshooting: the Zen 5 fault).
public static class Conv
{
    public static readonly Command Command = new("conv", "", "240 conv2d shapes against float64, oneDNN on and off", Run);

    static int Run(string[] args)
    {
        _ = new CommandArgs("conv", args);
        foreach (var on in new[] { true, false })
        {
            var check = OneDnn.With(on, () => OneDnn.SelfCheck(OneDnn.SweepCases(), repeats: 2));
            Console.WriteLine($"oneDNN {(on ? "on " : "off")}: {check.Failures.Count} of {check.Cases.Count} convolutions wrong; worst: {check.Worst}");
        }
        return 0;
    }
}
