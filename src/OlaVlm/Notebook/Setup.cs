using OlaVlm.Core;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace OlaVlm.Notebook;

/// What the first cell of every notebook calls (after its `#r` lines): makes charts, images and tables
/// display in every host (Jupyter, VS Code Polyglot Notebooks, the headless runner) and prints one line
/// saying what this session runs on.
public static class Setup
{
    /// Safe to call more than once (re-running the first cell); the next chart after it inlines plotly.js.
    public static void Run()
    {
        // Order matters: the FSharp.Core handler must be in place before any Plotly.NET type is resolved,
        // and this method's body mentions none (the JIT resolves a method's types when compiling it).
        FSharpCoreResolver.Register();
        RegisterFormatters();
        // Training loops started from a cell show one progress bar updated in place; elsewhere
        // (no kernel, e.g. a loop on a background thread) they fall back to console lines.
        Training.Progress.Factory = () => NotebookProgress.TryCreate() ?? new Training.ConsoleProgress();
        // Interrupting a cell (the kernel cancels it) stops training at the next step boundary, checkpointed.
        CellInterrupt.Install();
        Console.WriteLine(Describe());
    }

    /// Setup.Run starts every notebook, and every notebook is a new page (or, in an in-process runner, a new
    /// saved document in the same process): its first chart must carry plotly.js again.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void RegisterFormatters()
    {
        Formatters.Register();
        PlotlyHtml.Session.Reset();
    }

    /// One line: library version, torch versions, threads, device, the oneDNN guard's decision (Core.OneDnn), whether the
    /// loaded TorchSharp has the Scalar guard (Core.ScalarLifetime), profile.
    public static string Describe()
    {
        var asm = typeof(Setup).Assembly;
        var version = asm.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? asm.GetName().Version?.ToString();
        // Drop the "+commit" suffix the SDK appends: it is long, and the notebook's git history has it.
        if (version?.IndexOf('+') is int plus and > 0) version = version[..plus];
        return $"OlaVlm {version} | {Core.Devices.Describe()} | {Core.OneDnn.Apply()} | {Core.ScalarLifetime.Status} | profile {Profile.Current} (OLA_PROFILE)";
    }
}
