namespace OlaRunner;

/// The training loops of the notebook library that are running now (OlaVlm.Core.Interrupt.Active), read by reflection:
/// the runner must not load its own copy of the library, which the notebooks load with `#r`.
static class InterruptibleWork
{
    /// Waits until no loop runs (or `grace` passes); returns how many still run (0 when the library is not loaded).
    public static async Task<int> WaitAsync(TimeSpan grace)
    {
        var deadline = DateTime.UtcNow + grace;
        int active;
        while ((active = Active()) > 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        return active;
    }

    /// The loops running in every loaded copy of the library. Each notebook's kernel loads OlaVlm.dll into a load
    /// context of its own, so after the first notebook there are several copies, each with its own counter; reading only
    /// the first (notebook 00's, idle) said "stopped" while a later notebook's training still ran, and the process then
    /// exited under it (SIGSEGV, exit 139).
    public static int Active() => AppDomain.CurrentDomain.GetAssemblies()
        .Select(a => a.GetType("OlaVlm.Core.Interrupt", throwOnError: false))
        .Sum(t => t?.GetProperty("Active")?.GetValue(null) is int n ? n : 0);
}
