using OlaVlm.Stages;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Perf;

/// The stress check (opt-in, see README):
/// `dotnet test -c Release --settings tests/perf.runsettings --filter "Category=Perf&FullyQualifiedName~Stress" --logger "console;verbosity=detailed"`.
/// OLA_STRESS_PASSES sets the teacher passes (default 2000; PT steps get a seventh of them).
[Trait("Category", "Perf")]
[Collection(SerialCollection.Name)] // switches oneDNN for the whole process
public class StressPerfTests(ITestOutputHelper output)
{
    sealed class OutputWriter(ITestOutputHelper o) : StringWriter
    {
        public override void WriteLine(string? value) { o.WriteLine(value ?? ""); Console.WriteLine(value); }
    }

    [Fact]
    public void NonFiniteOutputsOfTeachersAndPtSteps()
    {
        int passes = int.TryParse(Environment.GetEnvironmentVariable("OLA_STRESS_PASSES"), out var p) ? p : 2000;
        var rows = StressPerf.Run(passes, Math.Max(10, passes / 7), new OutputWriter(output), CPU);
        // The figure that must hold: with the library's guard, nothing non-finite, ever.
        Assert.All(rows.Where(r => r.Guarded), r => Assert.True(r.NonFinite == 0, $"{r.What}: {r.NonFinite} non-finite outputs under the guard"));
    }
}
