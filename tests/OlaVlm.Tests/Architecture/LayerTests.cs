using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace OlaVlm.Tests.Architecture;

/// The library's namespaces depend one way, down this order (docs/architecture.md); presentation (Notebook) is for
/// the notebooks and the runner alone. A file that reaches up a layer — which would let a cycle form — fails here,
/// with the file, the line and the symbol.
public class LayerTests
{
    /// Lowest first. A namespace may use those before it.
    public static readonly string[] Order =
        ["Core", "Text", "Model", "Training", "Ola", "World", "Data", "Teachers", "Eval", "Foundation", "Stages", "Experiments", "Notebook"];

    [Fact]
    public void Every_reference_points_down_the_layer_order()
    {
        var compilation = LibrarySource.Compilation;
        var unknown = new SortedSet<string>();
        var upward = new List<string>();
        foreach (var tree in compilation.SyntaxTrees.Where(t => t.FilePath.Length > 0))
        {
            var model = compilation.GetSemanticModel(tree);
            var root = tree.GetRoot();
            var own = root.DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>().FirstOrDefault()?.Name.ToString();
            var layer = own?.StartsWith("OlaVlm.") == true ? own.Split('.')[1] : null;
            if (layer is null || Array.IndexOf(Order, layer) < 0) { unknown.Add($"{Rel(tree.FilePath)}: namespace {own}"); continue; }
            foreach (var name in root.DescendantNodes().OfType<SimpleNameSyntax>())
            {
                var symbol = model.GetSymbolInfo(name).Symbol;
                var target = symbol switch
                {
                    null => null,
                    INamespaceSymbol n => LibrarySource.Layer(n),
                    _ => LibrarySource.Layer((symbol.ContainingType as ISymbol ?? symbol).ContainingNamespace),
                };
                if (target is null || target == layer) continue;
                if (Array.IndexOf(Order, target) > Array.IndexOf(Order, layer))
                    upward.Add($"{Rel(tree.FilePath)}:{name.GetLocation().GetLineSpan().StartLinePosition.Line + 1}: {layer} uses {target} ({symbol})");
            }
        }
        Assert.True(unknown.Count == 0, "files outside the layer order: " + string.Join("; ", unknown));
        Assert.True(upward.Count == 0, $"{upward.Count} reference(s) up the layer order {string.Join(" → ", Order)}:\n" + string.Join("\n", upward.Distinct().Take(40)));
    }

    [Fact]
    public void The_source_compiles_for_the_semantic_model()
    {
        // Unresolved symbols would make the layer test blind: the compilation must be clean.
        // CS8795: a [GeneratedRegex] partial method, whose body the regex source generator writes at build time.
        var errors = LibrarySource.Compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && d.Id != "CS8795").Take(10).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    static string Rel(string path) => Path.GetRelativePath(Core.Paths.RepoRoot, path);
}
