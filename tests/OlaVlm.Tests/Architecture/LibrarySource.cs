using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace OlaVlm.Tests.Architecture;

/// The library's source (src/OlaVlm), compiled once with the compiler's semantic model, so tests can ask what each
/// file refers to: the namespace of every symbol it uses, not a guess from its `using` lines.
public static class LibrarySource
{
    public static string Root => Path.Combine(Core.Paths.RepoRoot, "src", "OlaVlm");

    static readonly Lazy<CSharpCompilation> _compilation = new(Compile);
    public static CSharpCompilation Compilation => _compilation.Value;

    /// Library .cs files, build outputs left out.
    public static IEnumerable<string> Files() => Directory.EnumerateFiles(Root, "*.cs", SearchOption.AllDirectories)
        .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
        .OrderBy(f => f, StringComparer.Ordinal);

    static CSharpCompilation Compile()
    {
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = Files().Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), options, path: f)).ToList();
        // Global usings the SDK adds (ImplicitUsings) and every assembly this test process can load.
        trees.Add(CSharpSyntaxTree.ParseText(string.Join("\n", new[] { "System", "System.IO", "System.Linq", "System.Collections.Generic",
            "System.Threading", "System.Threading.Tasks", "System.Net.Http" }.Select(n => $"global using global::{n};")), options));
        var refs = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll"))
            .Where(p => Path.GetFileName(p) != "OlaVlm.dll")
            .GroupBy(Path.GetFileName).Select(g => MetadataReference.CreateFromFile(g.First()));
        return CSharpCompilation.Create("OlaVlmSource", trees, refs,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
    }

    /// The library's top-level namespace a symbol belongs to ("Stages" for OlaVlm.Stages.Arm), or null outside it.
    public static string? Layer(INamespaceSymbol? ns)
    {
        var parts = new List<string>();
        for (var n = ns; n is { IsGlobalNamespace: false }; n = n.ContainingNamespace) parts.Insert(0, n.Name);
        return parts.Count >= 2 && parts[0] == "OlaVlm" ? parts[1] : null;
    }
}
