using OlaVlm.Training;
using Xunit.Abstractions;

namespace OlaVlm.Tests.Perf;

public class TrainerPerfTests(ITestOutputHelper output)
{
    /// Prints RSS at step 1 and step N; not a timed assert.
    [Fact, Trait("Category", "Perf")]
    public void RssStaysFlat()
    {
        var w = new StringWriter();
        var r = TrainerPerf.RssFlat(5000, w);
        output.WriteLine(w.ToString());
        Assert.True(r.RssEndMiB > 0);
    }
}
