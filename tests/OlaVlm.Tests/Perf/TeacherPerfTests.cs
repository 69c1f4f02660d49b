using OlaVlm.Core;
using OlaVlm.Teachers;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Perf;

/// Figures, not checks: `dotnet test --filter "Category=Perf&FullyQualifiedName~Teachers" --logger "console;verbosity=detailed"`.
[Trait("Category", "Perf")]
public class TeacherPerfTests(ITestOutputHelper output)
{
    sealed class OutputWriter(ITestOutputHelper o) : StringWriter
    {
        public override void WriteLine(string? value) { o.WriteLine(value ?? ""); Console.WriteLine(value); }
    }

    [Fact]
    public void TrainMiniatureTeachers()
    {
        var steps = int.TryParse(Environment.GetEnvironmentVariable("OLA_TEACHER_STEPS"), out var s) ? s : 1000;
        TeacherPerf.TrainMiniature(3000, new TeacherTrainConfig { Steps = steps }, new OutputWriter(output), CPU);
    }

    [Fact]
    public void TargetSourceThroughput()
    {
        var log = new OutputWriter(output);
        var images = SyntheticScenes.Generate(512).Images;
        var dir = Paths.OutDir("bench", "target-cache");
        foreach (TeacherConfig cfg in new TeacherConfig[] { DepthTeacherConfig.Miniature, SegTeacherConfig.Miniature, GenTeacherConfig.Miniature })
        {
            using var t = MiniTeacher.Create(cfg, CPU);
            TeacherPerf.TargetSourceThroughput(t, images, dir, 32, 30, log);
        }
    }

    /// Cache reads at OLA-VLM's full-scale depth target shape (576×1024, 336² images) against a stand-in
    /// teacher that costs only a ViT-L patch embedding (a lower bound for DAv2's real forward pass).
    [Fact]
    public void TargetSourceThroughputAtFullScaleShapes()
    {
        var log = new OutputWriter(output);
        using var teacher = new PatchEmbedTeacher();
        var images = randn(64, 3, 336, 336);
        TeacherPerf.TargetSourceThroughput(teacher, images, Paths.OutDir("bench", "target-cache"), batchSize: 8, batches: 10, log);
    }

    sealed class PatchEmbedTeacher : ITeacher
    {
        readonly TorchSharp.Modules.Conv2d proj = TorchSharp.torch.nn.Conv2d(3, 1024, 14, stride: 14);
        public string Name => "patch-embed-576x1024";
        public TeacherKind Kind => TeacherKind.Depth;
        public long[] TargetShape => [576, 1024];
        public Device Device => CPU;
        public string WeightsHash => "patch-embed-stub";
        public Tensor Encode(Tensor images) { using var _ = no_grad(); return proj.forward(images).flatten(2).transpose(1, 2).contiguous(); }
        public Tensor? Decode(Tensor embedding) => null;
        public void Dispose() => proj.Dispose();
    }
}
