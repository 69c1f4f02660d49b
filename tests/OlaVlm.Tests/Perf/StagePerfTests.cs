using OlaVlm.Stages;
using Xunit;
using Xunit.Abstractions;

namespace OlaVlm.Tests.Perf;

/// Figures only (run with --filter Category=Perf); nothing here is a timed assert.
[Collection(OlaVlm.Tests.Stages.SerialTorchCollection.Name)]
public class StagePerfTests(ITestOutputHelper output)
{
    [Fact, Trait("Category", "Perf")]
    public void Pt_step_time_cached_vs_on_the_fly()
    {
        var w = new StringWriter();
        var r = StagePerf.PtStepTime(log: w);
        output.WriteLine(w.ToString());
        Assert.True(r.CachedSecondsPerStep > 0 && r.OnTheFlySecondsPerStep > 0);
    }

    [Fact, Trait("Category", "Perf")]
    public void Pt_rss_over_1000_steps()
    {
        var w = new StringWriter();
        var r = StagePerf.PtRss(1000, log: w);
        output.WriteLine(w.ToString());
        Assert.Equal(1000, r.Steps);
    }
}
