using OlaVlm.Foundation;
using Xunit.Abstractions;

namespace OlaVlm.Tests.Foundation;

public class PeerBenchmarkTests(ITestOutputHelper output)
{
    /// Prints TorchSharp and PyTorch samples/s for the same PT step and their ratio (no timed assert).
    [Fact, Trait("Category", "Benchmark")]
    public void Pt_step_torchsharp_vs_pytorch()
    {
        // Each library's default threads, then both on one thread (the fair figure on a shared 2-core box).
        foreach (int? threads in new int?[] { null, 1 })
        {
            output.WriteLine($"--- threads: {(threads is null ? "library defaults" : threads.ToString())}");
            var (cs, py, ratio) = PeerBenchmark.Compare(threads: threads, log: output.WriteLine);
            Assert.True(cs.SamplesPerSecond > 0);
            if (py is not null) Assert.True(py.SamplesPerSecond > 0 && ratio > 0);
        }
    }
}
