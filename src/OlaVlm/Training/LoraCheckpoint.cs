using System.Text.Json;
using System.Text.Json.Nodes;
using OlaVlm.Model;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace OlaVlm.Training;

/// LoRA adapters in the layout LLaVA's finetune_lora run leaves, so PEFT and LLaVA's loader read it:
/// - adapter_config.json: PEFT's LoraConfig (peft_type LORA, task_type CAUSAL_LM, r, lora_alpha, …);
/// - adapter_model.safetensors: the adapters under PEFT's saved names, `base_model.model.` + the original LLaVA
///   name, without the adapter name: `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`;
/// - non_lora_trainables.bin: the projector, a torch.save'd dict under LLaVA's names
///   (`base_model.model.model.mm_projector.0.weight`), as LLaVA's train.py writes it and its builder reads it.
public static class LoraCheckpoint
{
    public const string ConfigFile = "adapter_config.json", AdapterFile = "adapter_model.safetensors", NonLoraFile = "non_lora_trainables.bin";
    /// PeftModel wraps the model as base_model (LoraModel) → model, so every saved name starts with this.
    public const string PeftPrefix = "base_model.model.";

    /// LlavaModel name → the name PEFT saves it under.
    public static string ToPeft(string name) => PeftPrefix + HfNames.ToLlava(name);

    /// A saved name → LlavaModel's name; null for a name outside PEFT's prefix.
    public static string? FromPeft(string key) => key.StartsWith(PeftPrefix, StringComparison.Ordinal) ? HfNames.FromLlava(key[PeftPrefix.Length..]) : null;

    /// Writes the three files into `dir`. nonLoraPrefixes: what else LLaVA saves beside the adapters. LLaVA saves every
    /// trainable non-LoRA parameter, which in its recipe is the projector; naming it keeps a model whose
    /// requires_grad flags were reset from writing its whole LLM here.
    public static void Save(LlavaModel llava, LoraConfig config, string dir, IReadOnlyList<string>? nonLoraPrefixes = null)
    {
        nonLoraPrefixes ??= ["mm_projector"];
        var adapters = Lora.Adapters(llava).ToList();
        if (adapters.Count == 0) throw new InvalidOperationException("LoraCheckpoint.Save: the model has no LoRA adapters (Lora.Apply first)");
        if (adapters.Any(a => a.Layer.Merged)) throw new InvalidOperationException("LoraCheckpoint.Save: adapters are merged into the base weights; Lora.Unmerge first");
        Directory.CreateDirectory(dir);
        var targets = config.TargetModules ?? adapters.Select(a => a.Name.Split('.')[^1]).Distinct().OrderBy(n => n, StringComparer.Ordinal).ToList();
        File.WriteAllText(Path.Combine(dir, ConfigFile), ConfigJson(config, targets).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

        using var scope = NewDisposeScope();
        var named = llava.named_parameters().ToList();
        var lora = named.Where(p => Lora.IsAdapterParameter(p.name)).ToDictionary(p => ToPeft(p.name), p => p.parameter.detach().cpu().contiguous());
        AtomicFile.Write(Path.Combine(dir, AdapterFile), s => Safetensors.SaveStateDict(s, lora, leaveOpen: true));
        var rest = named.Where(p => !Lora.IsAdapterParameter(p.name) && nonLoraPrefixes.Any(x => Freezing.HasPrefix(p.name, x)))
            .ToDictionary(p => ToPeft(p.name), p => p.parameter.detach().cpu().contiguous());
        if (rest.Count == 0) throw new ArgumentException($"LoraCheckpoint.Save: no parameter under [{string.Join(", ", nonLoraPrefixes)}]");
        AtomicFile.Write(Path.Combine(dir, NonLoraFile), s => PyTorchPickler.PickleStateDict(s, rest, leaveOpen: true));
    }

    /// PEFT's LoraConfig fields that every PEFT version since 0.4 reads; the rest take PEFT's defaults.
    static JsonObject ConfigJson(LoraConfig c, IReadOnlyList<string> targets) => new()
    {
        ["base_model_name_or_path"] = c.BaseModelNameOrPath,
        ["bias"] = "none",
        ["fan_in_fan_out"] = false,
        ["inference_mode"] = true,
        ["init_lora_weights"] = true,
        ["layers_pattern"] = null,
        ["layers_to_transform"] = null,
        ["lora_alpha"] = c.Alpha == Math.Floor(c.Alpha) ? JsonValue.Create((long)c.Alpha) : JsonValue.Create(c.Alpha),
        ["lora_dropout"] = c.Dropout,
        ["modules_to_save"] = null,
        ["peft_type"] = "LORA",
        ["r"] = c.R,
        ["revision"] = null,
        ["target_modules"] = new JsonArray(targets.Select(t => (JsonNode)JsonValue.Create(t)!).ToArray()),
        ["task_type"] = "CAUSAL_LM",
    };

    /// Reads adapter_config.json back into a LoraConfig (learning rate: the default; it is not saved).
    public static LoraConfig ReadConfig(string dir)
    {
        var file = Path.Combine(dir, ConfigFile);
        if (!File.Exists(file)) throw new FileNotFoundException($"LoRA adapter: no {ConfigFile} in '{dir}'", file);
        var j = Core.JsonFile.Object(file);
        T Get<T>(string key) => j[key] is JsonNode n ? n.GetValue<T>() : throw new InvalidDataException($"{file}: missing key '{key}'");
        if (Get<string>("peft_type") != "LORA") throw new InvalidDataException($"{file}: peft_type is '{Get<string>("peft_type")}', expected 'LORA'");
        if ((j["bias"]?.GetValue<string>() ?? "none") != "none") throw new NotSupportedException($"{file}: bias '{j["bias"]}' (only \"none\")");
        if (j["fan_in_fan_out"]?.GetValue<bool>() == true) throw new NotSupportedException($"{file}: fan_in_fan_out true (Conv1D layers) is not supported");
        if (j["use_rslora"]?.GetValue<bool>() == true) throw new NotSupportedException($"{file}: use_rslora true is not supported");
        var targets = j["target_modules"] switch
        {
            JsonArray a => a.Select(t => t!.GetValue<string>()).ToList(),
            JsonValue v => throw new NotSupportedException($"{file}: target_modules as a regular expression ('{v}') is not supported"),
            _ => throw new InvalidDataException($"{file}: missing key 'target_modules'"),
        };
        return new LoraConfig
        {
            R = Get<int>("r"), Alpha = Get<double>("lora_alpha"), Dropout = j["lora_dropout"]?.GetValue<double>() ?? 0,
            TargetModules = targets, BaseModelNameOrPath = j["base_model_name_or_path"]?.GetValue<string>() ?? "",
        }.Validate();
    }

    /// Loads an adapter folder into `llava`: applies adapters from adapter_config.json when the model has none
    /// (or checks the ones it has), then loads the adapters and the projector strictly (every key and shape
    /// checked, all mismatches in one CheckpointMismatchException). Returns the adapter config.
    public static LoraConfig Load(LlavaModel llava, string dir)
    {
        var config = ReadConfig(dir);
        var have = Lora.Adapters(llava).ToList();
        if (have.Count == 0) Lora.Apply(llava, config);
        else if (have.FirstOrDefault(a => a.Layer.Rank != config.R || a.Layer.Merged) is { Layer: not null } bad)
            throw new InvalidOperationException($"LoRA adapter '{dir}': the model's adapter {bad.Name} is " +
                                                (bad.Layer.Merged ? "merged (Lora.Unmerge first)" : $"rank {bad.Layer.Rank}, the file's rank is {config.R}"));
        var adapterNames = llava.named_parameters().Select(p => p.name).Where(Lora.IsAdapterParameter).ToList();
        Checkpoint.Load(llava, Path.Combine(dir, AdapterFile), FromPeft, onlyUnder: adapterNames);
        var nonLora = Path.Combine(dir, NonLoraFile);
        if (File.Exists(nonLora))
        {
            var sd = Checkpoint.Read(nonLora);
            try
            {
                // Every parameter of the top-level modules the file names (mm_projector), so a module missing a tensor
                // is reported, not half-loaded; by parameter name, since state_dict lists the projector's
                // Sequential twice (mm_projector.layers.* aliases mm_projector.0.*).
                var tops = sd.Keys.Select(FromPeft).OfType<string>().Select(n => n.Split('.')[0]).ToHashSet();
                var under = llava.named_parameters().Select(p => p.name).Where(n => tops.Contains(n.Split('.')[0])).ToList();
                Checkpoint.Load(llava, sd, FromPeft, nonLora, under);
            }
            finally { foreach (var t in sd.Values) t.Dispose(); }
        }
        return config;
    }
}
