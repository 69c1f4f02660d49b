using static TorchSharp.torch;

namespace OlaVlm.Core;

/// bf16 matrix products on the CPU, fast AND right, while oneDNN's convolutions stay off (OneDnn).
///
/// WHY (measured on an AMD Zen 5 machine, libtorch 2.10, one thread; `OlaCheck bf16` prints it):
/// ATen's switch for oneDNN (`OneDnn.Enabled`) also decides how bf16 matmuls run. With it off — which the
/// library's conv guard does at load on this CPU — a bf16 [2048×256]·[256×688] product takes ATen's fallback
/// kernel: ~220 ms, 3 GFLOP/s, 25× slower than the same product in fp32 (~9 ms). With it on, oneDNN's AVX512-BF16
/// kernel takes ~1.9 ms (~380 GFLOP/s), with the same error against float64 as the fallback (bf16 output
/// rounding, ~3e-3). So "bf16 weights" trained 4–10× SLOWER than fp32 here, for no fault of bf16. oneDNN's bf16
/// CONVOLUTIONS are wrong on this CPU too (forward errors of 20–50 %, NaN gradients), so the switch cannot
/// simply stay on.
///
/// The rule: code that computes in bf16 runs inside `Run(dtype, …)`, which turns oneDNN on for that scope only
/// when (a) the dtype is bf16, (b) OLA_ONEDNN is not "off", and (c) this process's check of oneDNN's bf16
/// matmul, batched matmul and linear (forward and backward, against float64) passed. The Trainer (bf16 stages)
/// and LlavaModel.Generate (bf16 models) do so. Inside such a scope no convolution may run through oneDNN:
/// the library's LLaVA model has none (ClipVisionEmbeddings computes its patch embedding as a matmul), and a
/// teacher run inside a training step (OnTheFlyTargets) goes through `WithoutOneDnn`.
/// The switch is process-wide: while a bf16 scope is open, another thread's fp32 convolution would take
/// oneDNN's path. The library trains on one thread; tests that train in bf16 run in a serial collection.
public static class Bf16Matmul
{
    /// One product of the check: relative max error of output and gradients against float64 of the same bf16
    /// inputs, with oneDNN on (the path under test) and off (ATen's own bf16 kernel, the yardstick).
    public sealed record Case(string What, double OneDnnError, double AtenError);

    public sealed record Check(IReadOnlyList<Case> Cases, double Tolerance, string? Skipped = null)
    {
        public bool Passed => Skipped is null && Cases.Count > 0 && Cases.All(c => c.OneDnnError <= Tolerance);
        public override string ToString() => Skipped ?? (Passed
            ? $"oneDNN bf16 matmul right (worst rel. error {Cases.Max(c => c.OneDnnError):0.0e+0}, ATen's own {Cases.Max(c => c.AtenError):0.0e+0})"
            : $"oneDNN bf16 matmul WRONG: {string.Join("; ", Cases.Where(c => !(c.OneDnnError <= Tolerance)).Select(c => $"{c.What} {c.OneDnnError:0.0e+0}"))}");
    }

    static readonly Lazy<Check> _check = new(() => RunCheck());

    /// This process's check (run once, on first use; a few milliseconds).
    public static Check LastCheck => _check.Value;

    /// Whether bf16 scopes turn oneDNN on here (false: bf16 keeps ATen's slow kernels, or oneDNN is on anyway).
    public static bool Active => Policy() is null && _check.Value.Passed;

    /// One line for logs: what bf16 compute does in this process.
    public static string Describe() =>
        Policy() is string why ? $"bf16 matmul: {why}" : $"bf16 matmul: oneDNN on inside bf16 scopes ({_check.Value})";

    /// Runs `body` with oneDNN on when `dtype` is bf16 and Active; otherwise just runs it.
    public static T Run<T>(ScalarType dtype, Func<T> body) =>
        dtype == ScalarType.BFloat16 && Active ? OneDnn.With(true, body) : body();

    public static void Run(ScalarType dtype, Action body) => Run(dtype, () => { body(); return 0; });

    /// Runs `body` with oneDNN off (a convolution inside a bf16 scope); just runs it where the switch is unavailable.
    public static T WithoutOneDnn<T>(Func<T> body) => Available.Value ? OneDnn.With(false, body) : body();

    /// Null when bf16 scopes may switch oneDNN on, else why not.
    static string? Policy()
    {
        if (!Available.Value) return "oneDNN switch unavailable here (ATen's default kernels)";
        var mode = Environment.GetEnvironmentVariable(OneDnn.EnvVar)?.Trim().ToLowerInvariant();
        if (mode == "off") return $"oneDNN kept off ({OneDnn.EnvVar}=off): bf16 products use ATen's slow kernels";
        if (mode == "on") return $"oneDNN on everywhere ({OneDnn.EnvVar}=on)";
        return _check.Value.Passed ? null : $"oneDNN kept off, its check failed ({_check.Value}): bf16 products use ATen's slow kernels";
    }

    static readonly Lazy<bool> Available = new(() =>
    {
        try { _ = OneDnn.Enabled; return true; }
        catch (PlatformNotSupportedException) { return false; }
    });

    /// mm with odd sizes (kernel tails), a batched product as attention's, and linear with bias; forward and
    /// both gradients. A wrong kernel shows errors of 0.1–1 or NaN; bf16 rounding alone stays near 4e-3.
    public static Check RunCheck(double tolerance = 2e-2, int seed = 0)
    {
        if (!Available.Value) return new Check([], tolerance, "oneDNN switch unavailable here");
        OneDnn.Apply();   // the conv guard decides first, so this check sees the switch as the library leaves it
        var gen = new Generator((ulong)seed);
        var cases = new List<Case>();
        foreach (var (what, a, b, bias) in Inputs(gen))
        {
            using var scope = NewDisposeScope();
            var reference = Product(a.to(float64), b.to(float64), bias?.to(float64));
            double Err(bool on) => OneDnn.With(on, () =>
            {
                using var s = NewDisposeScope();
                var got = Product(a, b, bias);
                return got.Zip(reference, RelError).Max();
            });
            cases.Add(new Case(what, Err(true), Err(false)));
        }
        return new Check(cases, tolerance);
    }

    static IEnumerable<(string, Tensor, Tensor, Tensor?)> Inputs(Generator gen)
    {
        Tensor R(params long[] shape) => (randn(shape, generator: gen) / Math.Sqrt(shape[^1])).to(ScalarType.BFloat16);
        yield return ("mm 37×45·45×29", R(37, 45), R(45, 29), null);
        yield return ("mm 128×64·64×172", R(128, 64), R(64, 172), null);
        yield return ("bmm 2×4×33×16·16×33", R(2, 4, 33, 16), R(2, 4, 16, 33), null);
        yield return ("linear 3×17×64 → 48 (+bias)", R(3, 17, 64), R(48, 64), R(48));
    }

    /// Output and the gradients of sum(output · fixed weights) w.r.t. every input.
    static List<Tensor> Product(Tensor a, Tensor b, Tensor? bias)
    {
        var inputs = new List<Tensor> { a.detach().requires_grad_(), b.detach().requires_grad_() };
        if (bias is not null) inputs.Add(bias.detach().requires_grad_());
        var y = bias is null ? Checked.MatMul(inputs[0], inputs[1], "Bf16Matmul check") : nn.functional.linear(inputs[0], inputs[1], inputs[2]);
        var g = cos(arange(y.numel(), dtype: float64)).view(y.shape).to(ScalarType.BFloat16).to(y.dtype);   // the same weights in both dtypes
        var grads = autograd.grad([y], inputs, [g]);
        return [y.detach(), .. grads];
    }

    /// max |a − ref| / max |ref|, in float64; NaN when `a` holds a non-finite value.
    static double RelError(Tensor a, Tensor reference)
    {
        if (!a.isfinite().all().item<bool>()) return double.NaN;
        return (a.to(float64) - reference.to(float64)).abs().max().item<double>() / (reference.to(float64).abs().max().item<double>() + 1e-30);
    }
}
