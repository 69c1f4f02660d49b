using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace OlaVlm.Tests.Architecture;

/// Short files and short methods keep the library readable as nanoGPT is: one concept a file, and in the recipe
/// (Stages/, Experiments/) no method a reader cannot hold on one screen.
public class SizeTests
{
    const int MaxFileLines = 250, MaxRecipeMethodLines = 60;

    [Fact]
    public void No_library_file_is_over_250_lines()
    {
        var long_ = LibrarySource.Files().Select(f => (File: f, Lines: File.ReadLines(f).Count())).Where(x => x.Lines > MaxFileLines)
            .Select(x => $"{Path.GetRelativePath(LibrarySource.Root, x.File)}: {x.Lines} lines").ToList();
        Assert.True(long_.Count == 0, $"library files over {MaxFileLines} lines: " + string.Join("; ", long_));
    }

    [Theory]
    [InlineData("Stages")]
    [InlineData("Experiments")]
    public void No_recipe_method_is_over_60_lines(string folder)
    {
        var long_ = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(LibrarySource.Root, folder), "*.cs"))
        {
            var root = CSharpSyntaxTree.ParseText(File.ReadAllText(file)).GetRoot();
            foreach (var m in root.DescendantNodes().OfType<BaseMethodDeclarationSyntax>())
            {
                var span = m.GetLocation().GetLineSpan();
                int lines = span.EndLinePosition.Line - span.StartLinePosition.Line + 1;
                if (lines > MaxRecipeMethodLines)
                    long_.Add($"{folder}/{Path.GetFileName(file)}:{span.StartLinePosition.Line + 1} {Name(m)}: {lines} lines");
            }
        }
        Assert.True(long_.Count == 0, $"methods over {MaxRecipeMethodLines} lines: " + string.Join("; ", long_));
    }

    static string Name(BaseMethodDeclarationSyntax m) => m switch
    {
        MethodDeclarationSyntax x => x.Identifier.Text,
        ConstructorDeclarationSyntax x => x.Identifier.Text,
        _ => m.Kind().ToString(),
    };
}
