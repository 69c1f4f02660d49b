using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Training;

/// Which weights train. OLA-VLM stages differ only here: PT trains projector + predictors + task tokens
/// (+ logit scales), IFT trains projector + LLM, VPT everything but the teachers.
public static class Freezing
{
    public static int Freeze(nn.Module module) => SetAll(module, false);
    public static int Unfreeze(nn.Module module) => SetAll(module, true);

    /// Sets requires_grad on every parameter whose full name matches; returns how many matched.
    /// Throws when nothing matches, because a predicate that selects nothing is a typo, not a choice.
    public static int SetRequiresGrad(nn.Module module, Func<string, bool> match, bool requiresGrad)
    {
        int n = 0;
        foreach (var (name, p) in module.named_parameters())
            if (match(name)) { p.requires_grad = requiresGrad; n++; }
        if (n == 0)
        {
            var some = module.named_parameters().Take(8).Select(x => x.name);
            throw new ArgumentException($"SetRequiresGrad: no parameter name matched (first names: {string.Join(", ", some)})");
        }
        return n;
    }

    /// Name-prefix form: "mm_projector" matches "mm_projector" and "mm_projector.*", not "mm_projector2.*".
    public static int SetRequiresGrad(nn.Module module, string prefix, bool requiresGrad) =>
        SetRequiresGrad(module, name => HasPrefix(name, prefix), requiresGrad);

    public static bool HasPrefix(string name, string prefix) =>
        name == prefix || name.StartsWith(prefix + ".", StringComparison.Ordinal);

    static int SetAll(nn.Module module, bool value)
    {
        int n = 0;
        foreach (var p in module.parameters()) { p.requires_grad = value; n++; }
        return n;
    }

    /// Trainable and frozen element counts per name prefix of `depth` components ("model.layers" at 2).
    public static IReadOnlyList<ParamCount> CountByPrefix(nn.Module module, int depth = 1)
    {
        var rows = new Dictionary<string, ParamCount>();
        foreach (var (name, p) in module.named_parameters())
        {
            var key = string.Join('.', name.Split('.').Take(depth));
            var c = rows.GetValueOrDefault(key) ?? new ParamCount(key, 0, 0, 0);
            rows[key] = p.requires_grad
                ? c with { Trainable = c.Trainable + p.numel(), Tensors = c.Tensors + 1 }
                : c with { Frozen = c.Frozen + p.numel(), Tensors = c.Tensors + 1 };
        }
        return rows.Values.ToList();
    }

    /// A fixed-width table for notebooks and logs.
    public static string Summary(nn.Module module, int depth = 1)
    {
        var rows = CountByPrefix(module, depth);
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"{"prefix",-32} {"tensors",8} {"trainable",14} {"frozen",14}");
        foreach (var r in rows) sb.AppendLine($"{r.Prefix,-32} {r.Tensors,8} {r.Trainable,14:N0} {r.Frozen,14:N0}");
        sb.Append($"{"total",-32} {rows.Sum(r => r.Tensors),8} {rows.Sum(r => r.Trainable),14:N0} {rows.Sum(r => r.Frozen),14:N0}");
        return sb.ToString();
    }
}

public sealed record ParamCount(string Prefix, long Trainable, long Frozen, int Tensors);
