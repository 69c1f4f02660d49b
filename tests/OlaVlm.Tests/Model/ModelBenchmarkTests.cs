using Xunit.Abstractions;
using OlaVlm.Model;

namespace OlaVlm.Tests.Model;

public class ModelBenchmarkTests(ITestOutputHelper output)
{
    /// Prints figures only; run with --filter "Category=Benchmark".
    [Fact]
    [Trait("Category", "Benchmark")]
    public void PtStepThroughput()
    {
        var rows = ModelBenchmarks.PtStepThroughput(steps: 3, log: output.WriteLine);
        Assert.NotEmpty(rows);
    }
}
