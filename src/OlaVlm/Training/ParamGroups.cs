using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Training;

/// One rule of ParamGroups.Build: the trainable parameters whose names match go to this group, with
/// this learning rate and weight decay (null: TrainConfig's). First matching rule wins.
public sealed record GroupRule(string Name, Func<string, bool> Match, double? Lr = null, double? WeightDecay = null)
{
    /// Parameters under one or more module prefixes, e.g. GroupRule.Prefix("projector", 1e-3, "mm_projector").
    public static GroupRule Prefix(string name, double? lr, params string[] prefixes) =>
        new(name, n => prefixes.Any(p => Freezing.HasPrefix(n, p)), lr);

    /// Every trainable parameter not taken by an earlier rule.
    public static GroupRule Rest(string name = "rest", double? lr = null) => new(name, _ => true, lr);
}

/// AdamW parameter groups built from name rules, nanoGPT style: in a group with weight decay, 1-D
/// tensors (norm weights, biases, logit scales) and optionally embeddings go to a "<name>.no_decay"
/// twin with decay 0, because decaying them pulls scales/offsets to zero without regularising anything.
/// Frozen parameters are left out of the optimizer altogether (no state, no memory).
public sealed class ParamGroups
{
    public sealed record Group(string Name, double Lr, double WeightDecay, IReadOnlyList<(string Name, Parameter Param)> Params)
    {
        public long Elements => Params.Sum(p => p.Param.numel());
    }

    public IReadOnlyList<Group> Groups { get; }
    public IReadOnlyList<(string Name, Parameter Param)> Frozen { get; }
    public IEnumerable<Parameter> Trainable => Groups.SelectMany(g => g.Params.Select(p => p.Param));

    ParamGroups(List<Group> groups, List<(string, Parameter)> frozen) { Groups = groups; Frozen = frozen; }

    /// Matches names in embeddings: a common choice for `noDecay`.
    public static bool IsEmbedding(string name) => name.Contains("embed", StringComparison.OrdinalIgnoreCase);

    /// Groups the model's trainable parameters by `rules` (none: one group "all"). Every trainable
    /// parameter must match a rule; the unmatched ones are listed in the exception.
    public static ParamGroups Build(nn.Module model, TrainConfig config, IEnumerable<GroupRule>? rules = null,
                                    Func<string, bool>? noDecay = null)
    {
        var ruleList = rules?.ToList() is { Count: > 0 } r ? r : [GroupRule.Rest("all")];
        var dupName = ruleList.GroupBy(x => x.Name).FirstOrDefault(g => g.Count() > 1);
        if (dupName != null) throw new ArgumentException($"ParamGroups: rule name '{dupName.Key}' is used twice");

        var members = ruleList.ToDictionary(x => x.Name, _ => (decay: new List<(string, Parameter)>(), plain: new List<(string, Parameter)>()));
        var frozen = new List<(string, Parameter)>();
        var unmatched = new List<string>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!p.requires_grad) { frozen.Add((name, p)); continue; }
            var rule = ruleList.FirstOrDefault(x => x.Match(name));
            if (rule == null) { unmatched.Add(name); continue; }
            bool skipDecay = p.dim() < 2 || (noDecay?.Invoke(name) ?? false);
            (skipDecay ? members[rule.Name].plain : members[rule.Name].decay).Add((name, p));
        }
        if (unmatched.Count > 0)
            throw new ArgumentException($"ParamGroups: {unmatched.Count} trainable parameter(s) match no rule " +
                                        $"(freeze them or add a rule): {string.Join(", ", unmatched)}");

        var groups = new List<Group>();
        foreach (var rule in ruleList)
        {
            double lr = rule.Lr ?? config.LearningRate, wd = rule.WeightDecay ?? config.WeightDecay;
            var (decay, plain) = members[rule.Name];
            if (wd == 0) decay.AddRange(plain); // nothing to split when nothing decays
            if (decay.Count > 0) groups.Add(new Group(rule.Name, lr, wd, decay));
            if (wd != 0 && plain.Count > 0) groups.Add(new Group(rule.Name + ".no_decay", lr, 0, plain));
        }
        if (groups.Count == 0)
            throw new ArgumentException("ParamGroups: the model has no trainable parameters (everything is frozen)");
        return new ParamGroups(groups, frozen);
    }

    /// AdamW over the groups; each group's lr is its base rate (LrSchedule scales it per step).
    /// optimized: what the optimizer updates for each parameter (fp32 master copies); null = the parameter.
    public AdamW CreateAdamW(TrainConfig config, Func<Parameter, Parameter>? optimized = null) =>
        torch.optim.AdamW(Groups.Select(g => new AdamW.ParamGroup(g.Params.Select(p => optimized?.Invoke(p.Param) ?? p.Param), g.Lr,
                                                                  config.Beta1, config.Beta2, config.Eps, g.WeightDecay)),
                          config.LearningRate, config.Beta1, config.Beta2, config.Eps, config.WeightDecay);

    /// Table of groups (tensors, elements, lr, weight decay) and the frozen total.
    public string Summary()
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"{"group",-28} {"tensors",8} {"elements",14} {"lr",10} {"wd",8}");
        foreach (var g in Groups) sb.AppendLine($"{g.Name,-28} {g.Params.Count,8} {g.Elements,14:N0} {g.Lr,10:G3} {g.WeightDecay,8:G3}");
        sb.AppendLine($"{"trainable",-28} {Groups.Sum(g => g.Params.Count),8} {Groups.Sum(g => g.Elements),14:N0}");
        sb.Append($"{"frozen",-28} {Frozen.Count,8} {Frozen.Sum(p => p.Param.numel()),14:N0}");
        return sb.ToString();
    }

    /// The Trainer's check that the trainable weights are in the dtype the config trains (bf16 or fp32).
    public void CheckDtype(TrainConfig config)
    {
        var want = config.WeightDtype;
        var bad = Groups.SelectMany(g => g.Params).Where(p => is_floating_point(p.Param) && p.Param.dtype != want)
            .Select(p => $"{p.Name} ({p.Param.dtype})").Take(5).ToList();
        if (bad.Count > 0)
            throw new ArgumentException($"Trainer: Bf16Weights={config.Bf16Weights} expects {want} weights, but found {string.Join(", ", bad)}" +
                                        " — convert the model (model.to(config.WeightDtype)) before building ParamGroups");
    }
}
