using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// Settings of a peer comparison. Threads: intra-op threads for BOTH sides (default: OLA_BENCH_THREADS, else
/// every core). Rounds × StepsPerRound steps are timed per side after WarmupSteps untimed ones.
public sealed record PeerOptions
{
    public int Threads { get; init; } = DefaultThreads();
    public int WarmupSteps { get; init; } = 5;
    public int Rounds { get; init; } = 5;
    public int StepsPerRound { get; init; } = 20;
    /// |C# loss − PyTorch loss| of the first step, the proof of equal work; above it nothing is timed.
    public double LossTolerance { get; init; } = 1e-4;
    /// Relative difference allowed between the two first-step gradient norms (the backward pass's check).
    public double GradNormTolerance { get; init; } = 1e-3;
    /// Pause before each round: both libraries' OpenMP threads spin for a moment after a parallel region,
    /// which would steal cores from the side starting next.
    public TimeSpan Settle { get; init; } = TimeSpan.FromMilliseconds(300);

    public static int DefaultThreads() =>
        int.TryParse(Environment.GetEnvironmentVariable("OLA_BENCH_THREADS"), out var n) && n > 0 ? n : Environment.ProcessorCount;
}

/// One interleaved round: C#'s and PyTorch's mean seconds per step.
public sealed record PeerRoundTimes(int Round, double CSharp, double PyTorch)
{
    /// C# step time / PyTorch step time: above 1, C# is slower.
    public double Ratio => CSharp / PyTorch;
}

/// The first steps of both sides, from the same weights and batch.
public sealed record PeerCheck(double CSharpLoss, double PyTorchLoss, double CSharpGradNorm, double PyTorchGradNorm)
{
    public double LossDiff => Math.Abs(CSharpLoss - PyTorchLoss);
    public double GradNormRelDiff => Math.Abs(CSharpGradNorm - PyTorchGradNorm) / Math.Max(Math.Abs(CSharpGradNorm), 1e-12);
}

public sealed record PeerComparison(string Workload, string Description, int Threads, string CSharpSide, string PyTorchSide,
                                    PeerCheck Check, IReadOnlyList<PeerRoundTimes> Rounds, int StepsPerRound)
{
    public Spread CSharp => Spread.Of(Rounds.Select(r => r.CSharp));
    public Spread PyTorch => Spread.Of(Rounds.Select(r => r.PyTorch));
    /// The figure to quote: the median of the per-round C#/PyTorch step-time ratios.
    public Spread Ratio => Spread.Of(Rounds.Select(r => r.Ratio));

    /// The figures and the machine they came from, for out/bench/peer/<workload>.json.
    public JsonObject ToJson() => new()
    {
        ["workload"] = Workload, ["description"] = Description, ["threads"] = Threads, ["dtype"] = "float32",
        ["csharp"] = CSharpSide, ["pytorch"] = PyTorchSide, ["machine"] = Machine.Describe(), ["utc"] = DateTime.UtcNow.ToString("o"),
        ["first_step"] = new JsonObject { ["csharp_loss"] = Check.CSharpLoss, ["pytorch_loss"] = Check.PyTorchLoss,
                                          ["csharp_grad_norm"] = Check.CSharpGradNorm, ["pytorch_grad_norm"] = Check.PyTorchGradNorm },
        ["steps_per_round"] = StepsPerRound,
        ["rounds"] = new JsonArray(Rounds.Select(r => (JsonNode)new JsonObject { ["csharp_s"] = r.CSharp, ["pytorch_s"] = r.PyTorch, ["ratio"] = r.Ratio }).ToArray()),
        ["csharp_median_s"] = CSharp.Median, ["pytorch_median_s"] = PyTorch.Median,
        ["ratio_median"] = Ratio.Median, ["ratio_min"] = Ratio.Min, ["ratio_max"] = Ratio.Max,
    };

    public string Summary() =>
        $"{Workload}: C#/PyTorch step-time ratio {Ratio.Format()} over {Rounds.Count} rounds of {StepsPerRound} steps; " +
        $"C# {CSharp.Format("0.0", 1000)} ms/step, PyTorch {PyTorch.Format("0.0", 1000)} ms/step; {Threads} threads each, fp32";
}

/// The first step of the two sides disagreed: they do not compute the same thing, so no timing is reported.
public sealed class PeerMismatchException(string message) : InvalidOperationException(message);

/// C# (TorchSharp) against PyTorch on the same training step, fairly:
///   1. the workload exports its weights and batch; C# runs step 1; the PyTorch peer (a long-lived
///      environment/bench/peer_step.py process) loads the export and runs its step 1; the two losses must agree
///      to 1e-4 and the gradient norms to 1e-3 (relative), or it throws — equal work, proven, before any timing;
///   2. both sides at the same intra-op thread count, set explicitly on both (and printed), fp32;
///   3. warm-up steps on both sides, not timed;
///   4. interleaved rounds C#, PyTorch, C#, PyTorch, … each timing StepsPerRound steps, so a change in machine
///      load hits both sides alike; reported: each side's median seconds per step with min–max, and the median
///      of the per-round ratios (the figure to quote).
/// Figures are printed, never asserted. Returns null (saying why) when the PyTorch peer cannot run here.
public static class PeerPerf
{
    public static PeerComparison? Compare(IPeerWorkload workload, PeerOptions? options = null, Action<string>? log = null)
    {
        var o = options ?? new PeerOptions();
        log ??= Console.WriteLine;
        if (o.Rounds < 1 || o.StepsPerRound < 1) throw new ArgumentException($"PeerOptions: Rounds ({o.Rounds}) and StepsPerRound ({o.StepsPerRound}) must be >= 1");
        if (PythonPeer.Unavailable() is string why) { log($"peer benchmark {workload.Name}: PyTorch peer unavailable: {why}"); return null; }

        int before = get_num_threads();
        set_num_threads(o.Threads);
        try
        {
            var dir = Core.Paths.OutDir("bench", "peer", $"{workload.Name}-{Guid.NewGuid():N}");
            workload.Export(dir);
            var first = workload.Step();
            using var peer = PythonPeer.Start(dir, o.Threads);
            var check = new PeerCheck(first.Loss, peer.Ready.Loss, first.GradNorm, peer.Ready.GradNorm);
            var csSide = $"TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version} (libtorch {__version__}), {get_num_threads()} intra-op threads";
            var pySide = $"PyTorch {peer.Ready.Torch}, {peer.Ready.Threads} intra-op threads, OpenBLAS {peer.Ready.OpenBlasThreads?.ToString() ?? "?"} threads";
            log($"peer benchmark {workload.Name}: {workload.Description}");
            log($"  C#: {csSide}; PyTorch: {pySide}; fp32; export {dir}");
            var verdict = $"first-step loss C# {check.CSharpLoss:G9} vs PyTorch {check.PyTorchLoss:G9} (|Δ| {check.LossDiff:0.0e+0}, limit {o.LossTolerance:0e+0}); " +
                          $"grad norm {check.CSharpGradNorm:G9} vs {check.PyTorchGradNorm:G9} (rel. {check.GradNormRelDiff:0.0e+0}, limit {o.GradNormTolerance:0e+0})";
            if (!(check.LossDiff <= o.LossTolerance) || !(check.GradNormRelDiff <= o.GradNormTolerance))
                throw new PeerMismatchException($"peer benchmark {workload.Name}: the two sides do not compute the same step, so nothing is timed: {verdict}. " +
                                                $"Fix environment/bench/peer_model.py (or the export) until they agree. Export: {dir}");
            log($"  equal work: {verdict}");

            for (int i = 0; i < o.WarmupSteps; i++) workload.Step();
            if (o.WarmupSteps > 0) peer.Run(o.WarmupSteps);
            log($"  warm-up: {o.WarmupSteps} steps each (not timed); then {o.Rounds} interleaved rounds of {o.StepsPerRound} steps, C# first");

            var rounds = new List<PeerRoundTimes>();
            for (int r = 1; r <= o.Rounds; r++)
            {
                Thread.Sleep(o.Settle);
                var clock = Stopwatch.StartNew();
                for (int i = 0; i < o.StepsPerRound; i++) workload.Step();
                double cs = clock.Elapsed.TotalSeconds / o.StepsPerRound;
                Thread.Sleep(o.Settle);
                double py = peer.Run(o.StepsPerRound).Seconds / o.StepsPerRound;
                rounds.Add(new PeerRoundTimes(r, cs, py));
                log($"  round {r}: C# {cs * 1000:F1} ms/step, PyTorch {py * 1000:F1} ms/step, ratio {cs / py:F2}");
            }
            var result = new PeerComparison(workload.Name, workload.Description, o.Threads, csSide, pySide, check, rounds, o.StepsPerRound);
            log($"  C# step:      median {result.CSharp.Format("0.0", 1000)} ms");
            log($"  PyTorch step: median {result.PyTorch.Format("0.0", 1000)} ms");
            log($"  C#/PyTorch step-time ratio (median of rounds; above 1 = C# slower): {result.Ratio.Format()}");
            var file = Path.Combine(Core.Paths.OutDir("bench", "peer"), $"{workload.Name}.json");
            File.WriteAllText(file, result.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            log($"  written to {file} ({Machine.Describe()})");
            peer.Dispose();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }   // kept only when the check failed
            return result;
        }
        finally { set_num_threads(before); }
    }
}
