using OlaVlm.Diagnostics;
using OlaVlm.Tests.Stages;
using Xunit.Abstractions;

namespace OlaVlm.Tests.Perf;

/// C# against PyTorch on equal, verified work (PeerPerf): prints each side's median step time with min–max
/// and the median per-round C#/PyTorch ratio; nothing is asserted about speed. Opt-in (Category=Perf);
/// run alone, because the thread count is process-wide and parallel tests would share the cores:
///   dotnet test -c Release --settings tests/perf.runsettings --logger "console;verbosity=detailed" \
///     --filter "Category=Perf&FullyQualifiedName~PeerPerfTests"
/// OLA_BENCH_THREADS sets the threads of both sides (default: every core).
[Collection(SerialTorchCollection.Name)]
public class PeerPerfTests(ITestOutputHelper output)
{
    void Run(IPeerWorkload workload)
    {
        var why = PythonPeer.Unavailable();
        Skip.If(why is not null, $"PyTorch peer unavailable: {why}");
        using (workload)
        {
            var r = PeerPerf.Compare(workload, new PeerOptions(), output.WriteLine)!;
            output.WriteLine(r.Summary());
            Assert.True(r.Rounds.Count >= 5 && r.Ratio.Median > 0);
        }
    }

    /// The synthetic 4-layer d=256 decoder step (the earlier peer figure, now fair).
    [SkippableFact, Trait("Category", "Perf")]
    public void Decoder_step_csharp_vs_pytorch() => Run(new DecoderWorkload());

    /// The miniature's real PT step, LLaVA-1.5 baseline arm (projector trains; CLIP and LLM frozen).
    [SkippableFact, Trait("Category", "Perf")]
    public void Pt_step_baseline_csharp_vs_pytorch() => Run(PtStepWorkload.Create(ola: false, log: output.WriteLine));

    /// The miniature's real PT step, OLA-VLM arm (projector, task tokens, predictors; NTP + embedding loss).
    [SkippableFact, Trait("Category", "Perf")]
    public void Pt_step_ola_csharp_vs_pytorch() => Run(PtStepWorkload.Create(ola: true, log: output.WriteLine));
}
