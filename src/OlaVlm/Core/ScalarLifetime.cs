using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace OlaVlm.Core;

/// Whether the loaded TorchSharp native library carries the Scalar use-after-free guard.
///
/// TorchSharp 0.107 passes a temporary Scalar's raw handle to native code (`t.mul(0.5)`, and its own
/// optimizers' steps) and frees the Scalar in a finalizer; a garbage collection started by another thread
/// during the native call can free it mid-call, and libtorch then throws "Expected false to be true, but
/// got false" from c10::Scalar's accessors (a notebook cell failed so in CI). The build makes
/// `THSTorch_dispose_scalar` a no-op (environment/build/TorchSharpNativePatches.cs): Scalars are never freed,
/// so none can be freed too early. This class only reports what the running process loaded.
public static class ScalarLifetime
{
    public const string Symbol = "THSTorch_dispose_scalar";

    /// True when the loaded library's THSTorch_dispose_scalar returns at once (the guard is in place).
    public static bool Guarded => Check().Guarded;

    /// One phrase for the setup line.
    public static string Status => Check() is var c && c.Guarded ? "Scalar guard on"
        : $"Scalar guard OFF ({c.Why}; rare 'Expected false to be true' errors possible, README Troubleshooting)";

    static (bool Guarded, string Why)? _check;

    static (bool Guarded, string Why) Check() => _check ??= Inspect();

    static (bool, string) Inspect()
    {
        if (!OperatingSystem.IsLinux()) return (false, "only patched on Linux");
        InitializeDeviceType(TorchSharp.DeviceType.CPU); // TorchSharp loads its native library
        var path = File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 6 && f[^1].EndsWith("/libLibTorchSharp.so", StringComparison.Ordinal)).Select(f => f[^1]).FirstOrDefault();
        if (path is null || !NativeLibrary.TryLoad(path, out var lib)) return (false, "libLibTorchSharp.so is not loaded");
        if (!NativeLibrary.TryGetExport(lib, Symbol, out var fn)) return (false, $"{Symbol} is not exported");
        return Marshal.ReadByte(fn) == 0xC3 ? (true, "") : (false, $"{path} is unpatched");
    }
}
