namespace OlaVlm.Diagnostics;

/// Speed figures for the generator (printed, never asserted).
public static class WorldPerf
{
    /// Generates n scenes and writes their image, depth and seg files to a temporary folder, in parallel
    /// as MiniWorld.Build does; prints and returns scenes per second.
    public static double ScenesPerSecond(int n, WorldConfig? config = null)
    {
        config ??= new WorldConfig();
        var dir = Path.Combine(Path.GetTempPath(), "ola-world-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var gen = new SceneGenerator(config);
        MiniWorld.WriteSplit(dir, "bench", 9, 16, gen, []);   // warm-up (JIT, encoders)
        var proc = System.Diagnostics.Process.GetCurrentProcess();
        var cpu0 = proc.TotalProcessorTime;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        MiniWorld.WriteSplit(dir, "pt", 9, n, gen, []);
        double rate = n / sw.Elapsed.TotalSeconds;
        proc.Refresh();
        // CPU time per scene does not depend on how busy a shared machine is; wall-clock rate does.
        double cpuMs = (proc.TotalProcessorTime - cpu0).TotalMilliseconds / n;
        Directory.Delete(dir, recursive: true);
        Console.WriteLine($"world: {rate:F0} scenes/s at {config.ImageSize}x{config.ImageSize} ({n} scenes, image+depth+seg files, " +
                          $"{Environment.ProcessorCount} cores); {cpuMs:F2} CPU-ms per scene = {1000 / cpuMs:F0} scenes/s per core");
        return rate;
    }
}
