using OlaVlm.Experiments;

namespace OlaVlm.Tests.Experiments;

public class RecipeOverridesTests
{
    [Fact]
    public void OverridesChangeOnlyWhatTheySet()
    {
        var base_ = ExperimentArms.FullMeasurement;
        Assert.Equal(base_, new RecipeOverrides().Apply(base_));
        var c = new RecipeOverrides { PtSteps = 80, IftSteps = 120, PtLr = 2e-3, ProjectorHidden = 0, FewObjectsSteps = 40 }.Apply(base_);
        Assert.Equal((80, 120, 40), (c.Pretrain.Steps, c.Finetune.Steps, c.Finetune.OneHopSteps));   // one-hop: a third of IFT
        Assert.Equal((2e-3, 2e-3), (c.Pretrain.ProjectorLr, c.Pretrain.OlaLr));                     // one PT rate for both
        Assert.Null(c.ProjectorHidden);                                                              // 0 = LLaVA's rule
        Assert.Equal((40, 2), (c.Pretrain.FewObjectsSteps, c.Pretrain.FewObjectsMax));
        // The few-object limit alone changes the limit and keeps the phase's length (it was silently dropped).
        var one = new RecipeOverrides { FewObjectsMax = 1 }.Apply(base_).Pretrain;
        Assert.Equal((base_.Pretrain.FewObjectsSteps, 1), (one.FewObjectsSteps, one.FewObjectsMax));
        Assert.Equal(3, new RecipeOverrides { FewObjectsSteps = 40, FewObjectsMax = 3 }.Apply(base_).Pretrain.FewObjectsMax);
        // The recipe's restart rule: up to 5 starts, probed at step 270, restarted above the bar.
        Assert.Equal((5, 270, ExperimentArms.PlateauRestartBar), (base_.Pretrain.InitCandidates, base_.Pretrain.InitProbeSteps, base_.Pretrain.InitAcceptBelow));
        var cand = new RecipeOverrides { InitCandidates = 2 }.Apply(base_).Pretrain;
        Assert.Equal((2, 270), (cand.InitCandidates, cand.InitProbeSteps));
        var best = new RecipeOverrides { InitCandidates = 2, InitAcceptBelow = 0 }.Apply(base_).Pretrain;   // best of two, no bar
        Assert.Equal((2, 270, 0.0), (best.InitCandidates, best.InitProbeSteps, best.InitAcceptBelow));
        var noRule = ExperimentArms.FullMeasurement with { Pretrain = base_.Pretrain with { InitCandidates = 0, InitProbeSteps = 0, InitAcceptBelow = 0 } };
        Assert.Equal((2, 100), (new RecipeOverrides { InitCandidates = 2 }.Apply(noRule).Pretrain is var nr ? (nr.InitCandidates, nr.InitProbeSteps) : default));
        Assert.Equal(50, new RecipeOverrides { InitProbeSteps = 50 }.Apply(base_).Pretrain.InitProbeSteps);
        // A PT too short for the rule's probe (align's pt=80) runs without the rule; one that fits keeps it.
        Assert.Equal((0, 0, 0.0), (c.Pretrain.InitCandidates, c.Pretrain.InitProbeSteps, c.Pretrain.InitAcceptBelow));
        Assert.Contains("restarted", OlaVlm.Experiments.SeedStudy.Describe(base_));
        Assert.DoesNotContain("restarted", OlaVlm.Experiments.SeedStudy.Describe(c));
        Assert.Equal(5, new RecipeOverrides { PtSteps = 600 }.Apply(base_).Pretrain.InitCandidates);
        // Asked for explicitly, it is kept, and the stage refuses the probe length with a message naming it.
        Assert.Equal((2, 270), new RecipeOverrides { PtSteps = 80, InitCandidates = 2 }.Apply(base_).Pretrain is var k ? (k.InitCandidates, k.InitProbeSteps) : default);
        Assert.Equal(5, new RecipeOverrides { PtSteps = 80, InitAcceptBelow = 1.2 }.Apply(base_).Pretrain.InitCandidates);
        Assert.Equal(base_.Finetune.LlmLr, c.Finetune.LlmLr);
        Assert.Equal(10, new RecipeOverrides { IftSteps = 10, OneHopSteps = 50 }.Apply(base_).Finetune.OneHopSteps);   // capped at IFT
        Assert.Null(c.Finetune.Lora);
        var warm = new RecipeOverrides { PtWarmupRatio = 0.2 }.Apply(base_);
        Assert.Equal((0.2, base_.Finetune.WarmupRatio), (warm.Pretrain.WarmupRatio, warm.Finetune.WarmupRatio));   // PT's only
        var lora = new RecipeOverrides { LoraRank = 4 }.Apply(base_).Finetune.Lora!;
        Assert.Equal((4, 8.0), (lora.R, lora.Alpha));                                                // α/r = 2, as LLaVA's 256/128
    }
}

public class ProbeAveragesTests
{
    static ProbedCheckpoint P(string model, int seed, params double[] cosines) =>
        new(model, seed, new LayerProbingResult(model, "h", [new ProbeCurve("depth", "t", [0, 1, 2], cosines, 1)]));

    [Fact]
    public void CurvesAreAveragedPerModelOverItsSeeds()
    {
        var avg = ProbeAverages.MeanOverSeeds([P("A", 1, 0.5, 0.6, 0.7), P("A", 2, 0.7, 0.8, 0.9), P("B", 1, 0.1, 0.1, 0.1)], "depth", x => 2 * x);
        Assert.Equal(2, avg.Count);
        var a = avg.Single(r => r.Model.StartsWith("A"));
        Assert.Equal("A (2 seeds)", a.Model);
        Assert.Equal(new[] { 1.2, 1.4, 1.6 }, a.Curves[0].Cosines.Select(c => Math.Round(c, 10)));
        Assert.Throws<ArgumentException>(() => ProbeAverages.MeanOverSeeds(
            [P("A", 1, 0.5, 0.6, 0.7), new ProbedCheckpoint("A", 2, new LayerProbingResult("A", "h", [new ProbeCurve("depth", "t", [1, 2], [0.1, 0.2], 1)]))], "depth"));
    }
}
