using OlaVlm.Core;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers.OneFormer;

/// The committed fixtures of environment/fixtures/teacher_oneformer_swin.py (transformers' modeling_swin @ 0004a3c2
/// and OLA-VLM @ 6032a6c semantics; see that script).
static class OneFormerFixture
{
    public static string Dir => TestFiles.Fixture("Teachers", "oneformer");
    public static string TinyDir => Path.Combine(Dir, "tiny");
    public static string Io => Path.Combine(Dir, "tiny_swin_io.safetensors");
    public static string Preprocess => Path.Combine(Dir, "preprocess.json");
    public static string Manifest => Path.Combine(Dir, "swin_large_backbone_manifest.json");

    /// A fresh folder under out/tests for files a test writes.
    public static string TempDir(string name) => TestFiles.TempDir("oneformer", name);
}
