namespace OlaVlm.Diagnostics;

/// Which machine a figure came from: timings only compare on the same one.
public static class Machine
{
    /// "AMD EPYC 9B45, 2 cores, Debian GNU/Linux 12 (bookworm)": CPU model, logical cores, OS.
    public static string Describe() => $"{CpuModel()}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}";

    public static string CpuModel()
    {
        try
        {
            return File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
                : "unknown CPU";
        }
        catch (IOException) { return "unknown CPU"; }
    }
}
