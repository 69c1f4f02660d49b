using OlaVlm.Core;

namespace OlaVlm.Tests;

/// The oneDNN guard: whatever this CPU is, the library's convolutions must be right.
[Collection(SerialCollection.Name)] // switches a process-wide libtorch setting
public class OneDnnTests
{
    [Fact]
    public void EveryConvolutionShapeOfTheSweepIsRightUnderTheLibrarysPolicy()
    {
        Assert.NotNull(OneDnn.Apply());
        // 240 shapes, forward and both gradients, twice each (the NaN fault is intermittent), against float64.
        var check = OneDnn.SelfCheck(OneDnn.SweepCases(), repeats: 2);
        Assert.True(check.Passed, $"{check.Failures.Count} of {check.Cases.Count} convolutions wrong under '{OneDnn.Status}', e.g.\n" +
                                  string.Join("\n", check.Failures.Take(5)));
    }

    [Fact]
    public void ThePolicyRanAtLoadAndItsDecisionMatchesItsSelfCheck()
    {
        var status = OneDnn.Apply();
        Assert.Contains("oneDNN", status);
        if (OneDnn.LastCheck is { } check) // auto policy: on exactly when the self-check with oneDNN on passed
            Assert.Equal(check.Passed, OneDnn.Enabled);
        Assert.Contains(status, OlaVlm.Notebook.Setup.Describe());
    }

    [Fact]
    public void WithSwitchesAndRestores()
    {
        bool before = OneDnn.Enabled;
        Assert.False(OneDnn.With(false, () => OneDnn.Enabled));
        Assert.True(OneDnn.With(true, () => OneDnn.Enabled));
        Assert.Equal(before, OneDnn.Enabled);
    }

    [Fact]
    public void SelfCheckReportsNaNAsAFailure()
    {
        var nan = new OneDnn.ConvCase(2, 24, 32, 3, 2, 1, double.NaN, 0, 0);
        var fine = nan with { Forward = 1e-7 };
        var check = new OneDnn.ConvCheck([fine, nan], 1e-4);
        Assert.False(check.Passed);
        Assert.Same(nan, check.Worst);
        Assert.Contains("NaN", nan.ToString());
    }
}
