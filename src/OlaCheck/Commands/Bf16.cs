using OlaVlm.Core;
using OlaVlm.Diagnostics;

namespace OlaCheck.Commands;

/// bf16 against fp32 on this CPU: matrix products and training steps, oneDNN off and on (README, bf16 on the CPU).
public static class Bf16
{
    public static readonly Command Command = new("bf16", "[--threads N]", "bf16 vs fp32: matmuls and training steps, oneDNN off/on", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("bf16", args, options: ["--threads"]);
        if (a.Option("--threads") is string t) TorchSharp.torch.set_num_threads(int.Parse(t));
        Console.WriteLine($"{Devices.Describe()}; {Machine.Describe()}");
        Console.WriteLine(Bf16Matmul.Describe());
        foreach (var c in Bf16Matmul.LastCheck.Cases)
            Console.WriteLine($"  {c.What,-30} rel. error oneDNN {c.OneDnnError:0.0e+0}, ATen {c.AtenError:0.0e+0}");
        Bf16Speed.Matmuls();
        Bf16Speed.Steps();
        return 0;
    }
}
