using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Core;

/// Picks the compute device. Nothing in the library hard-codes CPU: every module and tensor
/// factory takes a Device, and this is where the default comes from.
public static class Devices
{
    /// CUDA when the CUDA libtorch package is present and a GPU is visible, otherwise CPU.
    /// The OLA_DEVICE environment variable ("cpu", "cuda", "cuda:1") overrides the choice.
    public static Device Default
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("OLA_DEVICE");
            if (!string.IsNullOrWhiteSpace(env)) return new Device(env);
            return cuda.is_available() ? CUDA : CPU;
        }
    }

    /// One line for notebooks and logs: torch version, threads and device.
    public static string Describe(Device? device = null)
    {
        device ??= Default;
        return $"TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch {__version__}, " +
               $"device {device}, intra-op threads {get_num_threads()}, CUDA available {cuda.is_available()}";
    }

    /// TorchSharp's manual_seed seeds only the CPU generator (and returns a wrapper to dispose);
    /// CUDA generators need their own call, or dropout on a GPU would not replay after a resume.
    public static void ManualSeedAll(long seed)
    {
        using (manual_seed(seed)) { }
        if (HasCuda.Value) cuda.manual_seed_all(seed);
    }
    static readonly Lazy<bool> HasCuda = new(cuda.is_available);
}
