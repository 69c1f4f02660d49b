using System.Reflection;
using OlaVlm.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Training;

/// Puts LoRA adapters (LoraLinear) in place of a model's Linear layers, as PEFT's get_peft_model does, and
/// takes them out again. Names stay the model's own: `…q_proj.weight` is still the base weight and
/// `…q_proj.lora_A.weight` / `…q_proj.lora_B.weight` are new (LoraCheckpoint writes PEFT's file names).
public static class Lora
{
    /// Module-name keywords LLaVA's find_all_linear_names skips: the vision side keeps its weights.
    public static readonly IReadOnlyList<string> MultimodalKeywords = ["mm_projector", "vision_tower", "vision_resampler"];

    /// LLaVA's find_all_linear_names: the leaf names of every Linear outside the multimodal modules, less
    /// lm_head (LLaVA: "needed for 16-bit"). For a Llama LLM: q/k/v/o_proj and gate/up/down_proj.
    public static IReadOnlyList<string> LlavaTargets(nn.Module model) => model.named_modules()
        .Where(m => m.module is Linear && !MultimodalKeywords.Any(k => m.name.Contains(k)))
        .Select(m => m.name.Split('.')[^1])
        .Where(leaf => leaf != "lm_head")
        .Distinct().OrderBy(n => n, StringComparer.Ordinal).ToList();

    /// Whether module `name` is a target: its leaf is one of `targets` (PEFT's suffix match on a list) and it
    /// sits outside the multimodal modules. Why the second condition: LLaVA builds the vision tower after
    /// get_peft_model, so PEFT never sees CLIP's q/k/v_proj; here the tower already exists and must be left out.
    public static bool IsTarget(string name, IReadOnlyCollection<string> targets) =>
        targets.Contains(name.Split('.')[^1]) && !MultimodalKeywords.Any(k => name.Contains(k));

    /// Wraps every target Linear under `model` in a LoraLinear; returns the wrapped module names. Throws when
    /// nothing matches (a typo in TargetModules), or when adapters are already in place.
    public static IReadOnlyList<string> Apply(nn.Module model, LoraConfig config)
    {
        config.Validate();
        if (Adapters(model).Any()) throw new InvalidOperationException("Lora.Apply: the model already has LoRA adapters");
        var targets = config.TargetModules ?? LlavaTargets(model);
        var chosen = model.named_modules().Where(m => m.module is Linear && IsTarget(m.name, targets)).ToList();
        if (chosen.Count == 0)
            throw new ArgumentException($"Lora.Apply: no Linear layer matches target modules [{string.Join(", ", targets)}]");
        foreach (var (name, module) in chosen) Replace(model, name, new LoraLinear((Linear)module, config));
        return chosen.Select(c => c.name).ToList();
    }

    /// The adapters under `model`, by module name.
    public static IEnumerable<(string Name, LoraLinear Layer)> Adapters(nn.Module model) =>
        model.named_modules().Where(m => m.module is LoraLinear).Select(m => (m.name, (LoraLinear)m.module));

    /// An adapter parameter's name (lora_A / lora_B weights).
    public static bool IsAdapterParameter(string name) => name.Contains(".lora_A.") || name.Contains(".lora_B.");

    /// The adapters' parameters under `model`, by full name: what a LoRA stage trains besides the projector.
    public static IEnumerable<(string Name, Parameter Param)> AdapterParameters(nn.Module model) =>
        model.named_parameters().Where(p => IsAdapterParameter(p.name)).Select(p => (p.name, p.parameter));

    /// Freezes every parameter under `model` except the adapters (what PEFT leaves trainable with bias "none").
    public static void FreezeAllButAdapters(nn.Module model)
    {
        foreach (var (name, p) in model.named_parameters()) p.requires_grad = IsAdapterParameter(name);
    }

    /// A LoRA stage's weights (Stage.Prepare): adapters on the LLM of `llava` (applied once, so a resumed or
    /// repeated stage trains the same adapters), and the LLM frozen except them. The projector's flag is the stage's.
    public static void PrepareStage(LlavaModel llava, LoraConfig config)
    {
        if (!Adapters(llava).Any()) Apply(llava, config);
        else if (Adapters(llava).FirstOrDefault(a => a.Layer.Rank != config.R || a.Layer.Scaling != config.Scaling) is { Layer: not null } odd)
            throw new InvalidOperationException($"Lora.PrepareStage: the model's adapter {odd.Name} has rank {odd.Layer.Rank}, scaling " +
                                                $"{odd.Layer.Scaling}; the stage asks for rank {config.R}, scaling {config.Scaling}");
        Unmerge(llava);   // merged for evaluation earlier: gradients only reach adapters kept apart from W
        FreezeAllButAdapters(llava.LanguageModel);
    }

    /// Folds every adapter into its base weight (W += scaling·B·A): evaluation runs at the base model's cost.
    public static void Merge(nn.Module model) { foreach (var (_, l) in Adapters(model)) l.Merge(); }

    /// Takes the adapters back out of the base weights (W -= scaling·B·A), e.g. to train on after evaluating.
    public static void Unmerge(nn.Module model) { foreach (var (_, l) in Adapters(model)) l.Unmerge(); }

    /// PEFT's merge_and_unload: merges, then puts plain Linear layers back, so the model has exactly the
    /// parameters (and names) it had before Apply, with the adapters folded in.
    public static void MergeAndUnload(nn.Module model)
    {
        foreach (var (name, layer) in Adapters(model).ToList())
        {
            layer.Merge();
            Replace(model, name, layer.ToLinear());
        }
    }

    /// PEFT's setattr(parent, child, new): registers `replacement` under the child's name and stores it in the
    /// parent's field of that name (RegisterComponents names children after their fields), so both forward
    /// (which calls the field) and named_parameters see it. The field must be typed to accept it.
    public static void Replace(nn.Module root, string name, nn.Module replacement)
    {
        int dot = name.LastIndexOf('.');
        var parent = dot < 0 ? root : root.named_modules().FirstOrDefault(m => m.name == name[..dot]).module
            ?? throw new ArgumentException($"Lora.Replace: no module '{name[..dot]}'");
        var leaf = name[(dot + 1)..];
        var field = parent.GetType().GetField(leaf, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)
            ?? throw new InvalidOperationException($"Lora.Replace: {parent.GetType().Name} has no field '{leaf}' behind module '{name}' " +
                                                   "(only modules kept in fields named after themselves can be replaced)");
        if (!field.FieldType.IsInstanceOfType(replacement))
            throw new InvalidOperationException($"Lora.Replace: {parent.GetType().Name}.{leaf} is typed {field.FieldType.Name}; " +
                                                $"declare it as nn.Module<Tensor, Tensor> so a {replacement.GetType().Name} can take its place");
        parent.register_module(leaf, null!);   // TorchSharp: registering null removes the child
        parent.register_module(leaf, replacement);
        field.SetValue(parent, replacement);
    }
}
