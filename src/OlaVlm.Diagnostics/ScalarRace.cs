using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// The stress check behind Core.ScalarLifetime's guard: scalar operations while another thread allocates, so
/// garbage collections start during native calls. With the guard (the build's patch) none fails.
public static class ScalarRace
{
    /// What one race run saw: scalar operations done, the errors they threw (and the first), wrong results.
    public sealed record RaceResult(long Ops, int Errors, long Wrong, string? FirstError)
    {
        public override string ToString() =>
            $"{Ops:N0} scalar ops: {Errors} errors, {Wrong} wrong results{(FirstError is null ? "" : $"; first error: {FirstError}")}";
    }

    /// Scalar operations (`x.mul(0.5)`, an implicit Scalar each) for `duration` while another thread allocates,
    /// so garbage collections start during native calls. Unguarded, some fail with "Expected false to be true".
    public static RaceResult Run(TimeSpan duration)
    {
        var stop = DateTime.UtcNow + duration;
        var noise = new Thread(() =>
        {
            var keep = new List<byte[]>();
            while (DateTime.UtcNow < stop) { keep.Add(new byte[4096]); if (keep.Count > 256) keep.Clear(); }
        }) { IsBackground = true };
        noise.Start();
        using var x = ones(4, 4);
        long ops = 0, wrong = 0;
        int errors = 0;
        string? first = null;
        while (DateTime.UtcNow < stop)
        {
            using var scope = NewDisposeScope();
            try { if (x.mul(0.5)[0, 0].item<float>() != 0.5f) wrong++; }
            catch (Exception e) { errors++; first ??= e.Message.Split('\n')[0]; }
            ops++;
        }
        noise.Join();
        return new RaceResult(ops, errors, wrong, first);
    }
}
