using System.Reflection;

namespace OlaVlm.Notebook;

/// A notebook's interrupt as a Core.Interrupt source. VS Code, Jupyter and the headless runner interrupt a cell by
/// cancelling its KernelInvocationContext; the code in the cell keeps running unless it looks. The Trainer looks
/// between steps (through Core.Interrupt), so an interrupted training stops at a step boundary with a checkpoint.
/// Reflection, as in NotebookProgress: the library must not depend on the kernel's assemblies.
public static class CellInterrupt
{
    static PropertyInfo? _current, _token;

    /// Makes a cell's interrupt stop training (Setup.Run does this; a notebook that skips Setup.Run can call it).
    public static void Install() => Core.Interrupt.Source = Requested;

    /// Whether the cell now running (on this async flow) has been cancelled; false outside a kernel.
    public static bool Requested()
    {
        _current ??= AppDomain.CurrentDomain.GetAssemblies()
            .Select(a => a.GetType("Microsoft.DotNet.Interactive.KernelInvocationContext", throwOnError: false))
            .FirstOrDefault(t => t != null)?.GetProperty("Current", BindingFlags.Public | BindingFlags.Static);
        var context = _current?.GetValue(null);
        if (context is null) return false;
        _token ??= context.GetType().GetProperty("CancellationToken");
        // Training on a background task may outlive its cell, whose context is then disposed (its token throws): no interrupt.
        try { return _token?.GetValue(context) is CancellationToken t && t.IsCancellationRequested; }
        catch (TargetInvocationException e) when (e.InnerException is ObjectDisposedException) { return false; }
    }
}
