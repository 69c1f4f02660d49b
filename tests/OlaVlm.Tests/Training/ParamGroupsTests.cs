using OlaVlm.Training;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Training;

public class ParamGroupsTests
{
    [Fact]
    public void RulesSetLrAndDecay_NormsAndBiasesGetNoDecay()
    {
        using var model = new TinyMlp(1);
        var cfg = new TrainConfig { LearningRate = 1e-4, WeightDecay = 0.1 };
        var groups = ParamGroups.Build(model, cfg, [GroupRule.Prefix("projector", 1e-3, "fc1"), GroupRule.Rest()]);

        var byName = groups.Groups.ToDictionary(g => g.Name);
        Assert.Equal(["projector", "projector.no_decay", "rest", "rest.no_decay"], groups.Groups.Select(g => g.Name));
        Assert.Equal(["fc1.weight"], byName["projector"].Params.Select(p => p.Name));
        Assert.Equal(["fc1.bias"], byName["projector.no_decay"].Params.Select(p => p.Name));
        Assert.Equal(["fc2.weight"], byName["rest"].Params.Select(p => p.Name));
        Assert.Equal(["norm.weight", "norm.bias", "fc2.bias"], byName["rest.no_decay"].Params.Select(p => p.Name));
        Assert.Equal((1e-3, 0.1), (byName["projector"].Lr, byName["projector"].WeightDecay));
        Assert.Equal((1e-4, 0.0), (byName["rest.no_decay"].Lr, byName["rest.no_decay"].WeightDecay));

        using var opt = groups.CreateAdamW(cfg);
        Assert.Equal([1e-3, 1e-3, 1e-4, 1e-4], opt.ParamGroups.Select(g => g.LearningRate));
        Assert.Contains("projector.no_decay", groups.Summary());
    }

    [Fact]
    public void FrozenParametersStayPut_TrainableOnesMove()
    {
        var dir = Tiny.TempDir();
        using var model = new TinyMlp(1);
        Freezing.Freeze(model);
        Assert.Equal(2, Freezing.SetRequiresGrad(model, "fc2", true));
        var groups = ParamGroups.Build(model, Tiny.Config(dir));
        Assert.Equal(4, groups.Frozen.Count);
        var before = Tiny.Snapshot(model);

        using var trainer = new Trainer(model, groups, Tiny.Config(dir, steps: 3), Tiny.MseStep(model)) { Progress = new SilentProgress() };
        trainer.Run();
        foreach (var (name, p) in model.named_parameters())
        {
            bool same = Tiny.Same(before[name], p);
            Assert.True(name.StartsWith("fc2") ? !same : same, $"{name} changed={!same}");
        }
        var counts = Freezing.CountByPrefix(model).ToDictionary(c => c.Prefix);
        Assert.Equal(8 * 2 + 2, counts["fc2"].Trainable);
        Assert.Equal(4 * 8 + 8, counts["fc1"].Frozen);
        Assert.Contains("fc2", Freezing.Summary(model));
    }

    [Fact]
    public void UnmatchedTrainableParametersAreListed()
    {
        using var model = new TinyMlp(1);
        var e = Assert.Throws<ArgumentException>(() => ParamGroups.Build(model, new TrainConfig(), [GroupRule.Prefix("p", null, "fc1")]));
        Assert.Contains("norm.weight", e.Message);
        Assert.Contains("fc2.bias", e.Message);
        Assert.Throws<ArgumentException>(() => Freezing.SetRequiresGrad(model, "no_such_module", false));
    }
}
