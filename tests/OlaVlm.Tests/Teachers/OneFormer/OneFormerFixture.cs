using OlaVlm.Core;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers.OneFormer;

/// The committed fixtures of environment/fixtures/teacher_oneformer_swin.py (transformers' modeling_swin @ 0004a3c2
/// and OLA-VLM @ 6032a6c semantics; see that script).
static class OneFormerFixture
{
    public static string Dir => Path.Combine(Paths.RepoRoot, "tests", "OlaVlm.Tests", "Fixtures", "Teachers", "oneformer");
    public static string TinyDir => Path.Combine(Dir, "tiny");
    public static string Io => Path.Combine(Dir, "tiny_swin_io.safetensors");
    public static string Preprocess => Path.Combine(Dir, "preprocess.json");
    public static string Manifest => Path.Combine(Dir, "swin_large_backbone_manifest.json");

    public static double MaxAbs(Tensor a, Tensor b)
    {
        Assert.Equal(b.shape, a.shape);
        using var d = (a.to(float64) - b.to(float64)).abs().max();
        return d.item<double>();
    }

    /// A fresh folder under out/tests for files a test writes.
    public static string TempDir(string name)
    {
        var d = Path.Combine(Paths.OutDir("tests", "oneformer"), name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }
}
