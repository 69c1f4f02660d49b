using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.PackageManagement;

namespace OlaRunner;

/// Builds a C# kernel that behaves like the one VS Code and Jupyter run: `#r "nuget: ..."` restores
/// packages, their native libraries resolve, and kernel extensions shipped inside packages
/// (interactive-extensions/dotnet/*.dll, e.g. Microsoft.Data.Analysis's DataFrame formatter) load.
static class KernelFactory
{
    // Native folders of every package restored so far (runtimes/<rid>/native), searched when a
    // P/Invoke library is not found by the default probing.
    static readonly List<string> NativeProbingPaths = [];
    static readonly HashSet<string> LoadedExtensions = [];
    static bool _nativeHookInstalled;

    public static CompositeKernel Create()
    {
        InstallNativeResolver();
        var csharp = new CSharpKernel().UseKernelHelpers().UseValueSharing();
        csharp.UseNugetDirective(async (k, resolved) =>
        {
            k.AddAssemblyReferences(resolved.SelectMany(r => r.AssemblyPaths));
            foreach (var r in resolved)
            {
                lock (NativeProbingPaths)
                    foreach (var p in r.ProbingPaths) if (!NativeProbingPaths.Contains(p)) NativeProbingPaths.Add(p);
                await LoadExtensionsAsync(k, r.PackageRoot);
            }
        }, forceRestore: false);
        var kernel = new CompositeKernel { csharp };
        kernel.DefaultKernelName = csharp.Name;
        return kernel;
    }

    static async Task LoadExtensionsAsync(Kernel kernel, string packageRoot)
    {
        var dir = Path.Combine(packageRoot, "interactive-extensions", "dotnet");
        if (!Directory.Exists(dir)) return;
        foreach (var dll in Directory.GetFiles(dir, "*.dll"))
        {
            if (!LoadedExtensions.Add(dll)) continue;
            var asm = AssemblyLoadContext.Default.LoadFromAssemblyPath(dll);
            foreach (var type in asm.GetExportedTypes().Where(t => typeof(IKernelExtension).IsAssignableFrom(t) && !t.IsAbstract))
            {
                var ext = (IKernelExtension)Activator.CreateInstance(type)!;
                await ext.OnLoadAsync(kernel);
                Console.WriteLine($"Loaded kernel extension {type.Name} from {Path.GetFileName(dll)}");
            }
        }
    }

    static void InstallNativeResolver()
    {
        if (_nativeHookInstalled) return;
        _nativeHookInstalled = true;
        AssemblyLoadContext.Default.ResolvingUnmanagedDll += (asm, name) =>
        {
            string[] candidates = [name, $"lib{name}.so", $"{name}.so", $"lib{name}"];
            lock (NativeProbingPaths)
                foreach (var dir in NativeProbingPaths)
                    foreach (var c in candidates)
                    {
                        var path = Path.Combine(dir, c);
                        if (File.Exists(path) && NativeLibrary.TryLoad(path, out var handle)) return handle;
                    }
            return IntPtr.Zero;
        };
    }
}
