using Xunit.Abstractions;

namespace OlaVlm.Tests.Perf;

/// Figures, not checks: the full-size teachers' forward at batch 8 (OLA_PERF_BATCH) on this CPU with random weights,
/// peak RSS, and the GPU time their FLOPs project per pre-training step (FullScaleTeacherPerf, GpuProjection).
/// `dotnet test tests/OlaVlm.Tests --settings tests/perf.runsettings --filter "Category=Perf&FullyQualifiedName~FullScaleTeacherPerf" --logger "console;verbosity=detailed"`.
/// Swin-L at 800² takes minutes per forward on two cores.
[Trait("Category", "Perf")]
public class FullScaleTeacherPerfTests(ITestOutputHelper output)
{
    static int Batch => int.TryParse(Environment.GetEnvironmentVariable("OLA_PERF_BATCH"), out var b) ? b : 8;

    sealed class OutputWriter(ITestOutputHelper o) : StringWriter
    {
        public override void WriteLine(string? value) { o.WriteLine(value ?? ""); Console.WriteLine(value); }
    }

    [Fact]
    public void DepthAnythingV2VitlAt336() => FullScaleTeacherPerf.DepthAnythingV2Vitl(Batch, new OutputWriter(output));

    [Fact]
    public void UnClipVitH14At224() => FullScaleTeacherPerf.UnClipVitH14(Batch, new OutputWriter(output));

    [Fact]
    public void OneFormerSwinLargeAt800() => FullScaleTeacherPerf.SwinLarge(Batch, new OutputWriter(output));
}
