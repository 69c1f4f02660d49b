using OlaVlm.Experiments;
using Xunit.Abstractions;

namespace OlaVlm.Tests.Perf;

public class ExperimentPerfTests(ITestOutputHelper output)
{
    /// Prints figures only; run with --filter "Category=Perf".
    [Fact]
    [Trait("Category", "Perf")]
    public void MeasurementCost()
    {
        var f = ExperimentPerf.MeasurementCost(log: output.WriteLine);
        Assert.True(f.ExtractImagesPerSecond > 0);
    }
}
