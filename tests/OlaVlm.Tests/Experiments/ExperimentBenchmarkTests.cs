using OlaVlm.Experiments;
using Xunit.Abstractions;

namespace OlaVlm.Tests.Experiments;

public class ExperimentBenchmarkTests(ITestOutputHelper output)
{
    /// Prints figures only; run with --filter "Category=Benchmark".
    [Fact]
    [Trait("Category", "Benchmark")]
    public void MeasurementCost()
    {
        var f = ExperimentPerf.MeasurementCost(log: output.WriteLine);
        Assert.True(f.ExtractImagesPerSecond > 0);
    }
}
