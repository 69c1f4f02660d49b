using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Core;

/// Guards against a libtorch CPU convolution fault (README, Troubleshooting) by turning ATen's oneDNN ("mkldnn") path off
/// where it computes wrong results.
///
/// ROOT CAUSE (found by bisection on an AMD EPYC family 26 / Zen 5 machine with AVX-512, 2 cores):
/// libtorch 2.10 (TorchSharp 0.107) runs float32 conv2d through oneDNN 3.7.1's direct JIT kernels
/// (`jit:avx512_core`, or `jit:avx2` when ONEDNN_MAX_CPU_ISA caps the ISA). When the input channels are not
/// a multiple of the kernel's channel block (16 with AVX-512, 8 with AVX2; e.g. 17, 20, 24, 40) and the
/// batch holds at least 2 images, the forward pass drops the last channel block's contribution for one
/// kernel tap (kh 0, kw 1 of a 3×3: a deterministic error of 10–25% of the output scale), and now and then
/// the whole output is NaN (uninitialised memory read into the padded block). The data gradient has the same
/// fault for output channels. A batch of 1 takes ATen's own kernel and is right. PyTorch 1.13 (oneDNN 2.6.3)
/// computes the same convolutions correctly on the same CPU, with the same implementation name and layouts.
/// Our conv teachers hit it: ConvPyramid's 24-channel stage feeds a 3×3 conv (whole batches of NaN targets).
/// ONEDNN_MAX_CPU_ISA=AVX2 only hides channel counts that are multiples of 8, so it is no fix.
///
/// The fix: `at::globalContext().setUserEnabledMkldnn(false)` (PyTorch's `torch.backends.mkldnn.enabled =
/// False`), after which ATen computes convolutions with its own kernels (im2col + BLAS), which are right.
/// TorchSharp 0.107 has no binding for it, so it is called through libtorch_cpu's exported C++ symbols.
/// It is a runtime switch read at every call (unlike oneDNN's ISA cap, which is latched at first use), so it
/// can be decided after a self-check and applies to every host: the module initializer below runs before
/// any library code, in the runner, `dotnet test`, Jupyter's .NET kernel and VS Code alike.
///
/// Policy (OLA_ONEDNN = auto | on | off; default auto): auto runs a self-check of a few small convolutions
/// with oneDNN on against float64 (which never uses oneDNN) and turns oneDNN off when any is wrong.
/// Cost of off: the mini teachers' convolutions run ~1.3–2× slower; nothing else in the miniature uses oneDNN.
public static class OneDnn
{
    public const string EnvVar = "OLA_ONEDNN";

    /// What Apply decided, for the setup line; null before Apply.
    public static string? Status { get; private set; }

    /// The last automatic self-check (null when the policy did not run one).
    public static ConvCheck? LastCheck { get; private set; }

    static readonly object Gate = new();
    static bool _applied;

    /// Applies the OLA_ONEDNN policy once per process (later calls return the first decision).
    public static string Apply()
    {
        lock (Gate)
        {
            if (_applied) return Status!;
            _applied = true;
            try { Status = Decide(Environment.GetEnvironmentVariable(EnvVar)); }
            catch (Exception e) { Status = $"oneDNN guard not applied ({e.GetType().Name}: {e.Message})"; }
            return Status;
        }
    }

    static string Decide(string? raw)
    {
        var mode = string.IsNullOrWhiteSpace(raw) ? "auto" : raw.Trim().ToLowerInvariant();
        if (mode is not ("auto" or "on" or "off"))
            throw new ArgumentException($"{EnvVar}='{raw}': expected auto, on or off");
        if (!Native.Available) return $"oneDNN convolutions: left as libtorch sets them ({Native.Why})";
        Native.DisableNnpack();
        if (mode == "off") { Enabled = false; return $"oneDNN convolutions off ({EnvVar}=off)"; }
        if (mode == "on") { Enabled = true; return $"oneDNN convolutions on ({EnvVar}=on; unchecked)"; }
        Enabled = true;
        var check = LastCheck = SelfCheck(repeats: 2);
        if (check.Passed) return "oneDNN convolutions on (self-check passed)";
        Enabled = false;
        return $"oneDNN convolutions OFF: wrong on this CPU ({check.Worst}); see README Troubleshooting";
    }

    /// ATen's switch for its oneDNN paths (convolutions, and bf16 matmul where it applies).
    public static bool Enabled
    {
        get => Native.Available ? Native.Get() : throw new PlatformNotSupportedException(Native.Why);
        set { if (!Native.Available) throw new PlatformNotSupportedException(Native.Why); Native.Set(value); }
    }

    /// Runs `body` with oneDNN switched as given, then restores the previous setting (benchmarks, tests).
    public static T With<T>(bool enabled, Func<T> body)
    {
        lock (Gate)
        {
            bool before = Enabled;
            Enabled = enabled;
            try { return body(); }
            finally { Enabled = before; }
        }
    }

    /// One convolution of the self-check: relative max error of the forward output and of each gradient.
    public sealed record ConvCase(int Batch, int InChannels, int OutChannels, int Kernel, int Stride, int Padding,
                                  double Forward, double GradInput, double GradWeight)
    {
        /// The largest of the three; NaN when any output was non-finite.
        public double Error => Max(Max(Forward, GradInput), GradWeight);
        public override string ToString() =>
            $"conv2d mb{Batch} ic{InChannels} oc{OutChannels} k{Kernel} s{Stride} p{Padding}: rel. error fwd {Fmt(Forward)}, dx {Fmt(GradInput)}, dw {Fmt(GradWeight)}";
        static string Fmt(double e) => double.IsFinite(e) ? e.ToString("0.#e+0") : "NaN";
    }

    public sealed record ConvCheck(IReadOnlyList<ConvCase> Cases, double Tolerance)
    {
        public bool Passed => Cases.All(c => c.Error <= Tolerance);
        public IReadOnlyList<ConvCase> Failures => Cases.Where(c => !(c.Error <= Tolerance)).ToList();
        public ConvCase Worst => Cases.OrderByDescending(c => double.IsNaN(c.Error) ? double.PositiveInfinity : c.Error).First();
    }

    /// The shapes that exposed the fault (channel tails of 16- and 8-wide blocks, forward and backward) plus
    /// the mini teachers' own layer shapes.
    public static readonly (int Batch, int Ic, int Oc, int K, int S, int P)[] QuickCases =
    [
        (2, 24, 32, 3, 2, 1), (2, 20, 24, 3, 1, 1), (2, 40, 24, 3, 1, 1), (2, 48, 24, 3, 1, 1), (4, 17, 8, 5, 1, 2),
        (4, 3, 24, 4, 4, 0), (4, 24, 32, 3, 1, 1), (4, 48, 24, 3, 1, 1), (4, 24, 12, 3, 1, 1),
    ];

    /// Every combination of batch {2, 8} × in {3, 8, 12, 17, 20, 24, 40, 48} × out {8, 24, 32} × (kernel,
    /// stride, padding) {(1,1,0), (3,1,1), (3,2,1), (4,4,0), (5,1,2)}: 240 convolutions (a few seconds).
    public static IEnumerable<(int, int, int, int, int, int)> SweepCases() =>
        from b in new[] { 2, 8 }
        from ic in new[] { 3, 8, 12, 17, 20, 24, 40, 48 }
        from oc in new[] { 8, 24, 32 }
        from k in new[] { (1, 1, 0), (3, 1, 1), (3, 2, 1), (4, 4, 0), (5, 1, 2) }
        select (b, ic, oc, k.Item1, k.Item2, k.Item3);

    /// Checks float32 conv2d (forward, input and weight gradients) on `cases` against float64 on the CPU,
    /// with the current oneDNN setting. Each case runs `repeats` times (the NaN fault is intermittent).
    public static ConvCheck SelfCheck(IEnumerable<(int, int, int, int, int, int)>? cases = null, int repeats = 1,
                                      double tolerance = 1e-4, int seed = 0)
    {
        var results = new List<ConvCase>();
        var gen = new Generator((ulong)seed);
        foreach (var (b, ic, oc, k, s, p) in cases ?? QuickCases)
        {
            using var scope = NewDisposeScope();
            var x = randn([b, ic, 16, 16], generator: gen);
            var w = randn([oc, ic, k, k], generator: gen) * (1.0 / Math.Sqrt(ic * k * k));
            var bias = randn([oc], generator: gen) * 0.1;
            var g = randn([b, oc, (16 + 2 * p - k) / s + 1, (16 + 2 * p - k) / s + 1], generator: gen);
            var (y64, dx64, dw64) = Conv(x.to(float64), w.to(float64), bias.to(float64), g.to(float64), s, p);
            double fwd = 0, dx = 0, dw = 0;
            for (int r = 0; r < repeats; r++)
            {
                var (y, gx, gw) = Conv(x, w, bias, g, s, p);
                fwd = Max(fwd, RelError(y, y64)); dx = Max(dx, RelError(gx, dx64)); dw = Max(dw, RelError(gw, dw64));
            }
            results.Add(new ConvCase(b, ic, oc, k, s, p, fwd, dx, dw));
        }
        return new ConvCheck(results, tolerance);
    }

    static double Max(double a, double b) => double.IsNaN(a) || double.IsNaN(b) ? double.NaN : Math.Max(a, b);

    static (Tensor, Tensor, Tensor) Conv(Tensor x, Tensor w, Tensor b, Tensor g, int s, int p)
    {
        var xr = x.detach().requires_grad_(); var wr = w.detach().requires_grad_();
        var y = nn.functional.conv2d(xr, wr, b, strides: [s, s], padding: [p, p]);
        var grads = autograd.grad([y], [xr, wr], [g]);
        return (y.detach(), grads[0], grads[1]);
    }

    /// max |a − ref| / (max |ref| + 1); NaN when `a` holds a non-finite value.
    static double RelError(Tensor a, Tensor reference)
    {
        if (!a.isfinite().all().item<bool>()) return double.NaN;
        return (a.to(float64) - reference).abs().max().item<double>() / (reference.abs().max().item<double>() + 1);
    }

    /// libtorch_cpu's `at::globalContext()` and `at::Context::{setUserEnabledMkldnn, userEnabledMkldnn}`
    /// (Itanium C++ ABI: a member function takes `this` as its first argument).
    static unsafe class Native
    {
        static readonly delegate* unmanaged<IntPtr> GlobalContext;
        static readonly delegate* unmanaged<IntPtr, byte, void> SetEnabled;
        static readonly delegate* unmanaged<IntPtr, byte> GetEnabled;
        static readonly delegate* unmanaged<IntPtr, byte, void> SetNnpack;
        public static readonly bool Available;
        public static readonly string Why = "";

        static Native()
        {
            if (!OperatingSystem.IsLinux()) { Why = "only wired for Linux's libtorch_cpu.so"; return; }
            InitializeDeviceType(DeviceType.CPU); // TorchSharp loads libtorch (from wherever NuGet put it)
            if (!TryLoadLibTorchCpu(out var lib)) { Why = "libtorch_cpu.so is not loaded in this process"; return; }
            if (!NativeLibrary.TryGetExport(lib, "_ZN2at13globalContextEv", out var gc)
                || !NativeLibrary.TryGetExport(lib, "_ZN2at7Context20setUserEnabledMkldnnEb", out var set)
                || !NativeLibrary.TryGetExport(lib, "_ZNK2at7Context17userEnabledMkldnnEv", out var get)
                || !NativeLibrary.TryGetExport(lib, "_ZN2at7Context20setUserEnabledNNPACKEb", out var nnpack))
            { Why = "this libtorch does not export at::Context's mkldnn switch"; return; }
            GlobalContext = (delegate* unmanaged<IntPtr>)gc;
            SetEnabled = (delegate* unmanaged<IntPtr, byte, void>)set;
            GetEnabled = (delegate* unmanaged<IntPtr, byte>)get;
            SetNnpack = (delegate* unmanaged<IntPtr, byte, void>)nnpack;
            Available = true;
        }

        public static bool Get() => GetEnabled(GlobalContext()) != 0;
        public static void Set(bool on) => SetEnabled(GlobalContext(), on ? (byte)1 : (byte)0);

        /// NNPACK stays off: without oneDNN (and for float64) ATen would try NNPACK for each convolution,
        /// which cannot start on AVX-512 CPUs like this one and logs "Could not initialize NNPACK" at every
        /// call. Off, convolutions take ATen's im2col + BLAS kernels, the path the self-check verifies.
        public static void DisableNnpack() => SetNnpack(GlobalContext(), 0);

        /// dlopen by SONAME finds the copy TorchSharp already loaded; else look for its path in our own maps.
        static bool TryLoadLibTorchCpu(out IntPtr handle)
        {
            if (NativeLibrary.TryLoad("libtorch_cpu.so", out handle)) return true;
            var path = File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length >= 6 && f[^1].EndsWith("/libtorch_cpu.so", StringComparison.Ordinal)).Select(f => f[^1]).FirstOrDefault();
            return path is not null && NativeLibrary.TryLoad(path, out handle);
        }
    }
}

/// Applies the OneDnn policy before any code of this library runs, in every host.
static class LibraryInitializer
{
#pragma warning disable CA2255 // a module initializer is the point: the guard must precede the first convolution
    [ModuleInitializer]
    internal static void Run() => OneDnn.Apply();
#pragma warning restore CA2255
}
