using OlaVlm.Diagnostics;
using OlaVlm.Experiments;

namespace OlaCheck.Commands;

/// Milliseconds per PT step of each arm (main-job recipe, random-init models at the default sizes, one fixed batch of
/// the quick world) and where a step's time goes; `pair` runs both arms at once, one thread each.
public static class PtStep
{
    public static readonly Command Command = new("ptstep", "[N=20] [THREADS | pair]", "ms per PT step of each arm and its phases", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("ptstep", args);
        int n = a.PositionalInt(0, 20);
        if (a.Positional(1) == "pair") return Pair(n);
        if (a.Positional(1) is string threads) TorchSharp.torch.set_num_threads(int.Parse(threads));
        Console.WriteLine($"threads: {TorchSharp.torch.get_num_threads()}");
        var full = ExperimentArms.FullMeasurement;
        foreach (var (ola, cfg) in new[] { (false, full), (true, full), (true, full with { Ola = full.Ola with { NumTaskTokens = 0 } }),
                                           (true, full with { Ola = full.Ola with { UseContrastive = false } }) })
        {
            using var w = PtStepWorkload.Create(ola, cfg);
            for (int i = 0; i < 3; i++) w.Step();
            var sw = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < n; i++) w.Step();
            Console.WriteLine($"{w.Name}: {sw.Elapsed.TotalMilliseconds / n:F1} ms/step ({w.Description})");
            var ph = Enumerable.Range(0, n).Select(_ => w.StepPhases()).ToList();
            Console.WriteLine($"  phases (ms): images {ph.Average(p => p.Images):F1} (again inside forward), forward {ph.Average(p => p.Forward):F1}, " +
                              $"backward {ph.Average(p => p.Backward):F1}, update {ph.Average(p => p.Update):F1}");
        }
        return 0;
    }

    /// Both arms at once, one thread each.
    static int Pair(int n)
    {
        using var a = PtStepWorkload.Create(false, ExperimentArms.FullMeasurement);
        using var b = PtStepWorkload.Create(true, ExperimentArms.FullMeasurement);
        var times = new double[2];
        var threads = new[] { a, b }.Select((w, k) => new Thread(() =>
        {
            TorchSharp.torch.set_num_threads(1);
            for (int i = 0; i < 3; i++) w.Step();
            var sw = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < n; i++) w.Step();
            times[k] = sw.Elapsed.TotalMilliseconds / n;
        })).ToList();
        var all = System.Diagnostics.Stopwatch.StartNew();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Console.WriteLine($"pair: baseline {times[0]:F1} ms/step, ola {times[1]:F1} ms/step, wall {all.Elapsed.TotalSeconds:F1} s");
        return 0;
    }
}
