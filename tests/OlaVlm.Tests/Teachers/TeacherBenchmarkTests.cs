using OlaVlm.Core;
using OlaVlm.Teachers;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers;

/// Figures, not checks: `dotnet test --filter "Category=Benchmark&FullyQualifiedName~Teachers" --logger "console;verbosity=detailed"`.
[Trait("Category", "Benchmark")]
public class TeacherBenchmarkTests(ITestOutputHelper output)
{
    sealed class OutputWriter(ITestOutputHelper o) : StringWriter
    {
        public override void WriteLine(string? value) { o.WriteLine(value ?? ""); Console.WriteLine(value); }
    }

    [Fact]
    public void TrainMiniatureTeachers()
    {
        var steps = int.TryParse(Environment.GetEnvironmentVariable("OLA_TEACHER_STEPS"), out var s) ? s : 400;
        TeacherBenchmarks.TrainMiniature(3000, new TeacherTrainConfig { Steps = steps }, new OutputWriter(output), CPU);
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
            TeacherBenchmarks.TargetSourceThroughput(t, images, dir, 32, 30, log);
        }
    }
}
