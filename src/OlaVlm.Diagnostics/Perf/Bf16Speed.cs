using System.Diagnostics;
using OlaVlm.Core;
using OlaVlm.Stages;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// Why bf16 was slower than fp32 on the CPU, measured: matrix products and whole training steps in fp32, in
/// bf16 with oneDNN off (ATen's kernels: what bf16 stages ran before Bf16Matmul) and in bf16 with oneDNN on
/// (a Bf16Matmul scope: what they run now). Figures are printed, never asserted.
public static class Bf16Speed
{
    public sealed record MatmulRow(string Shape, string Path, double Milliseconds, double Gflops, double RelError);
    public sealed record StepRow(string Workload, string Path, double MillisecondsPerStep, double FirstLoss);

    static readonly (string Name, ScalarType Dtype, bool OneDnn)[] Paths =
    [
        ("fp32", ScalarType.Float32, false),
        ("bf16, oneDNN off (ATen)", ScalarType.BFloat16, false),
        ("bf16, oneDNN on", ScalarType.BFloat16, true),
    ];

    /// [M×K]·[K×N] products of the decoder workload's shapes (B·T = 2048 rows) and of the miniature (d=64):
    /// milliseconds, GFLOP/s, and max error against float64 of the same (rounded) inputs, relative to the
    /// largest output.
    public static IReadOnlyList<MatmulRow> Matmuls(int reps = 10, Action<string>? log = null)
    {
        log ??= Console.WriteLine;
        log($"bf16 vs fp32 matrix products ({get_num_threads()} threads; {Bf16Matmul.Describe()})");
        var rows = new List<MatmulRow>();
        var gen = new Generator(0);
        foreach (var (m, k, n) in new[] { (2048, 256, 688), (2048, 688, 256), (2048, 256, 1024), (1600, 64, 172) })
        {
            using var scope = NewDisposeScope();
            var a = randn([m, k], generator: gen);
            var b = randn([k, n], generator: gen) / Math.Sqrt(k);
            foreach (var (name, dtype, on) in Paths)
            {
                var (ms, err) = OneDnn.With(on, () =>
                {
                    using var s = NewDisposeScope();
                    var ad = a.to(dtype); var bd = b.to(dtype);
                    var reference = ad.to(float64).mm(bd.to(float64));
                    ad.mm(bd).Dispose();   // warm-up (oneDNN builds its kernel on first use)
                    var clock = Stopwatch.StartNew();
                    for (int i = 0; i < reps; i++) ad.mm(bd).Dispose();
                    double t = clock.Elapsed.TotalMilliseconds / reps;
                    double e = (ad.mm(bd).to(float64) - reference).abs().max().item<double>() / reference.abs().max().item<double>();
                    return (t, e);
                });
                rows.Add(new MatmulRow($"{m}×{k}·{k}×{n}", name, ms, 2.0 * m * k * n / ms / 1e6, err));
                log($"  {rows[^1].Shape,-16} {name,-24} {ms,9:F2} ms {rows[^1].Gflops,7:F1} GFLOP/s  rel. error {err:0.0e+0}");
            }
        }
        return rows;
    }

    /// Milliseconds per training step of the decoder workload and of the miniature's PT step of both arms:
    /// fp32 and bf16-with-oneDNN interleaved in `rounds` rounds of `steps` steps (so a change in machine load
    /// hits both alike; median of the rounds and of the per-round fp32/bf16 ratios), and bf16 with oneDNN off
    /// timed over `slowSteps` steps once (it is 5–15× slower; it only shows why bf16 used to lose).
    /// experiment: the PT stage's settings (default ExperimentConfig.Full).
    public static IReadOnlyList<StepRow> Steps(int rounds = 3, int steps = 3, int slowSteps = 2, ExperimentConfig? experiment = null,
                                               Foundation.FoundationConfig? foundation = null, Action<string>? log = null)
    {
        log ??= Console.WriteLine;
        experiment ??= ExperimentConfig.Full;
        log($"bf16 vs fp32 training steps ({get_num_threads()} threads; fp32 and bf16+oneDNN interleaved, {rounds} rounds of {steps} steps after 2 untimed)");
        var rows = new List<StepRow>();
        foreach (var workload in new[] { "decoder", "pt-baseline", "pt-ola" })
        {
            IPeerWorkload Make(bool bf16) => workload == "decoder"
                ? new DecoderWorkload(dtype: bf16 ? ScalarType.BFloat16 : ScalarType.Float32)
                : PtStepWorkload.Create(workload == "pt-ola", experiment with { Pretrain = experiment.Pretrain with { Bf16Weights = bf16 } }, foundation);
            using var fp32 = Make(false);
            using var bf16 = Make(true);
            double Round(IPeerWorkload w, bool oneDnn, int n) => OneDnn.With(oneDnn, () =>
            {
                var clock = Stopwatch.StartNew();
                for (int i = 0; i < n; i++) w.Step();
                return clock.Elapsed.TotalMilliseconds / n;
            });
            double firstFp32 = fp32.Step().Loss, firstBf16 = OneDnn.With(true, () => bf16.Step().Loss);
            Round(fp32, false, 1); Round(bf16, true, 1);
            var times = Enumerable.Range(0, rounds).Select(_ => (Fp32: Round(fp32, false, steps), Bf16: Round(bf16, true, steps))).ToList();
            double slow = Round(bf16, false, slowSteps);
            var f = Spread.Of(times.Select(t => t.Fp32)); var b = Spread.Of(times.Select(t => t.Bf16));
            var ratio = Spread.Of(times.Select(t => t.Fp32 / t.Bf16));
            rows.Add(new StepRow(workload, Paths[0].Name, f.Median, firstFp32));
            rows.Add(new StepRow(workload, Paths[1].Name, slow, firstBf16));
            rows.Add(new StepRow(workload, Paths[2].Name, b.Median, firstBf16));
            log($"  {workload,-12} fp32 {f.Format("0.0")} ms/step; bf16+oneDNN {b.Format("0.0")} ms/step; bf16 oneDNN off {slow:F1} ms/step; " +
                $"fp32/bf16 speed-up {ratio.Format()}; first loss fp32 {firstFp32:F4}, bf16 {firstBf16:F4}");
        }
        return rows;
    }
}
