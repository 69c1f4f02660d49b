namespace OlaVlm.Diagnostics;

/// Resident memory of this process, for benchmarks ("does RSS stay flat over 1000 steps?").
/// libtorch allocates outside the .NET heap, so GC numbers alone miss tensor leaks; RSS sees them.
public static class MemoryProbe
{
    /// Resident set size in bytes: /proc/self/statm on Linux (cheap, current), else WorkingSet64.
    public static long RssBytes()
    {
        try
        {
            var fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return long.Parse(fields[1]) * Environment.SystemPageSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            using var p = System.Diagnostics.Process.GetCurrentProcess();
            return p.WorkingSet64;
        }
    }

    public static double RssMiB() => RssBytes() / (1024.0 * 1024.0);

    /// Peak resident set size in bytes since the process started or since the last ResetPeak (Linux VmHWM), else
    /// the process's lifetime peak working set.
    public static long PeakRssBytes()
    {
        if (File.Exists("/proc/self/status"))
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        using var p = System.Diagnostics.Process.GetCurrentProcess();
        return p.PeakWorkingSet64;
    }

    /// Resets the peak to the current RSS where the kernel allows it (Linux /proc/self/clear_refs 5), so a benchmark
    /// measures its own peak; returns the RSS at that moment.
    public static long ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return RssBytes();
    }

    public static string Describe() =>
        $"RSS {RssMiB():F1} MiB, managed heap {GC.GetTotalMemory(false) / (1024.0 * 1024.0):F1} MiB";
}
