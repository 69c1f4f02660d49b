using System.Reflection;
using System.Runtime.Loader;

namespace OlaVlm.Notebook;

/// Lets Plotly.NET run inside a kernel that ships an older FSharp.Core.
///
/// Why: Plotly.NET 6.0.0 is compiled against FSharp.Core 10.1.0.0, but the dotnet-interactive 1.0.712001
/// kernel has FSharp.Core 10.0.0.0 loaded already (its F# kernel needs it), and one load context cannot hold
/// two assemblies of the same name. Without help every chart fails with FileNotFoundException for
/// FSharp.Core 10.1.0.0. The parts of FSharp.Core that Plotly.NET uses exist in 10.0, so answering the
/// request with the loaded copy works.
///
/// The handler must be registered before the runtime first resolves a Plotly.NET type: the JIT loads the
/// types a method mentions when it compiles that method, so the caller (Setup.Run) keeps Plotly types out
/// of its own body.
public static class FSharpCoreResolver
{
    static int _registered;

    /// Registers the handler on the default load context once per process.
    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
            AssemblyLoadContext.Default.Resolving += Resolve;
    }

    /// AssemblyLoadContext.Resolving handler: an FSharp.Core request (any version; the handler only runs
    /// when normal binding failed) gets the FSharp.Core already loaded in the process, the highest version
    /// if there are several. Any other name, or no FSharp.Core loaded, gives null (normal failure).
    public static Assembly? Resolve(AssemblyLoadContext context, AssemblyName name)
    {
        if (!string.Equals(name.Name, "FSharp.Core", StringComparison.OrdinalIgnoreCase)) return null;
        return AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => string.Equals(a.GetName().Name, "FSharp.Core", StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(a => a.GetName().Version)
            .FirstOrDefault();
    }
}
