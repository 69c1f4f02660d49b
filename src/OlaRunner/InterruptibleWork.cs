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

    static int Active()
    {
        var type = AppDomain.CurrentDomain.GetAssemblies()
            .Select(a => a.GetType("OlaVlm.Core.Interrupt", throwOnError: false)).FirstOrDefault(t => t is not null);
        return type?.GetProperty("Active")?.GetValue(null) is int n ? n : 0;
    }
}
