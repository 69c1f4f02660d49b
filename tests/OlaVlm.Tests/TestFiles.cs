using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace OlaVlm.Tests;

/// Files the tests read and write: committed fixtures under tests/OlaVlm.Tests/Fixtures, fresh folders under
/// out/tests, checkpoints a test edits and writes back; and the error measure the fixture tests report.
public static class TestFiles
{
    public static string Fixture(params string[] parts) => Path.Combine([Paths.RepoRoot, "tests", "OlaVlm.Tests", "Fixtures", .. parts]);

    /// A fresh folder out/tests/{area}/{name}-{random}.
    public static string TempDir(string area, string name)
    {
        var d = Path.Combine(Paths.OutDir("tests", area), name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    public static void SaveSafetensors(string path, Dictionary<string, Tensor> stateDict)
    {
        using var stream = File.Create(path);
        Safetensors.SaveStateDict(stream, stateDict);
    }

    /// max |a − b| in float64 on the CPU; the shapes must be equal.
    public static double MaxAbs(Tensor a, Tensor b)
    {
        Assert.Equal(b.shape, a.shape);
        using var scope = NewDisposeScope();
        return (a.to(float64).cpu() - b.to(float64).cpu()).abs().max().item<double>();
    }
}
