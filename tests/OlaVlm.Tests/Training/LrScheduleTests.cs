using OlaVlm.Training;

namespace OlaVlm.Tests.Training;

public class LrScheduleTests
{
    [Fact]
    public void WarmupIsLinearThenCosineReachesTheMinimum()
    {
        // LLaVA: warmup_ratio 0.03 of 100 steps = 3 warmup steps (ceil).
        var cfg = new TrainConfig { Steps = 100, WarmupRatio = 0.03 };
        Assert.Equal(3, cfg.WarmupSteps);
        var s = LrSchedule.From(cfg);
        Assert.Equal(1.0 / 3, s.Factor(0), 1e-12);
        Assert.Equal(2.0 / 3, s.Factor(1), 1e-12);
        Assert.Equal(1.0, s.Factor(2), 1e-12);
        Assert.Equal(1.0, s.Factor(3), 1e-12);                  // cosine starts at the top
        var mid = new LrSchedule(103, 3);                     // (53-3)/(103-3) = halfway
        Assert.Equal(0.5, mid.Factor(53), 1e-12);
        Assert.Equal(0.0, s.Factor(100), 1e-12);
        var floor = new LrSchedule(103, 3, MinRatio: 0.1);
        Assert.Equal(0.1 + 0.9 * 0.5, floor.Factor(53), 1e-12);
        Assert.Equal(0.1, floor.Factor(103), 1e-12);
        for (int i = 3; i < 99; i++) Assert.True(s.Factor(i + 1) <= s.Factor(i));
    }

    [Fact]
    public void ApplyScalesEachGroupsOwnBaseRate()
    {
        using var model = new TinyMlp(1);
        var cfg = new TrainConfig { Steps = 10, WarmupRatio = 0.2 };
        var groups = ParamGroups.Build(model, cfg, [GroupRule.Prefix("fc1", 1e-3, "fc1"), GroupRule.Rest("rest", 2e-5)]);
        using var opt = groups.CreateAdamW(cfg);
        var rates = LrSchedule.From(cfg).Apply(opt, 0); // warmup 2 steps: factor 1/2
        Assert.Equal([0.5e-3, 1e-5], rates);
        Assert.Equal([0.5e-3, 1e-5], opt.ParamGroups.Select(g => g.LearningRate));
    }
}
