using OlaVlm.Notebook;
using OlaVlm.Diagnostics;
using OlaVlm.Tests.Stages;
using Xunit.Abstractions;

namespace OlaVlm.Tests.Perf;

/// bf16 against fp32: figures are printed, nothing about speed is asserted. Opt-in; run alone:
///   OLA_PROFILE=full OLA_BENCH_SEEDS=3 dotnet test -c Release --settings tests/perf.runsettings \
///     --logger "console;verbosity=detailed" --filter "Category=Perf&FullyQualifiedName~Bf16PerfTests"
[Collection(SerialTorchCollection.Name)]
public class Bf16PerfTests(ITestOutputHelper output)
{
    /// Matrix products and training steps (decoder, PT baseline, PT OLA-VLM) in fp32, bf16 with oneDNN off,
    /// bf16 with oneDNN on: why bf16 stages were slower than fp32 here, and what Bf16Matmul changes.
    [Fact, Trait("Category", "Perf")]
    public void Bf16_matmul_and_step_speed()
    {
        output.WriteLine(OlaVlm.Core.Bf16Matmul.Describe());
        Assert.NotEmpty(Bf16Speed.Matmuls(log: output.WriteLine));
        Assert.NotEmpty(Bf16Speed.Steps(log: output.WriteLine));
    }

    /// PT+IFT wall time and benchmark score of both arms in fp32, bf16 and bf16 + fp32 master weights, same
    /// seeds; the profile's setup (OLA_PROFILE, default full: notebook 03's) and OLA_BENCH_SEEDS seeds (default 3).
    [Fact, Trait("Category", "Perf")]
    public void Bf16_training_time_and_score()
    {
        int n = int.TryParse(Environment.GetEnvironmentVariable("OLA_BENCH_SEEDS"), out var s) && s > 0 ? s : 3;
        var report = Bf16Perf.Run(Bf16Setup.ForProfile(Profile.Current), Enumerable.Range(1, n).Select(i => (long)i).ToList(), log: output.WriteLine);
        Assert.Equal(n * Bf16Variant.All.Count * 2, report.Runs.Count);
    }
}
