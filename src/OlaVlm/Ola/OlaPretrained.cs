using System.Text.Json;
using System.Text.Json.Nodes;
using OlaVlm.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Ola;

/// A trained model as a LLaVA folder, the layout the reference's builder.py loads (`load_pretrained_model`):
/// config.json (LlavaParts.ConfigJson) and model.safetensors with LLaVA's names (Phi-3 fused). The frozen vision
/// tower is not written; mm_vision_tower names it. OLA-VLM's modules go into the same file under the reference's
/// names — the task tokens on the inner model (`model.special_depth_tokens`, as OlaLlavaMetaModel holds them), the
/// predictors and logit scales on the outer one (`image_depth_heads.0.*`, `depth_logit_scale`) — with model_type
/// ola_phi3 / ola_llama and the reference's aux_mode, num_task_tokens and contrastive_loss_weight keys. The layer
/// lists go in `ola_layers` (this library's key; the reference's own layer_indices string is not written).
/// Load reads the folder back into an OlaVlmModel (the baseline when config.json has no OLA keys).
public static class OlaPretrained
{
    public const string WeightsFile = "model.safetensors";

    /// Our parameter name → the name saved: LLaVA's for `llava.*`, the reference's for `ola.*`.
    public static string ToSaved(string name) => name switch
    {
        _ when name.StartsWith("llava.") => HfNames.ToLlava(name["llava.".Length..]),
        _ when name.StartsWith("ola.task_tokens.") => "model." + name["ola.task_tokens.".Length..],
        _ when name.StartsWith("ola.") => name["ola.".Length..],
        _ => throw new ArgumentException($"OlaPretrained: parameter '{name}' is neither llava.* nor ola.*"),
    };

    /// Whether a saved name belongs to OLA-VLM's modules.
    public static bool IsOlaName(string saved) => saved.StartsWith("model.special_") || saved.StartsWith("image_")
        || saved.EndsWith("_logit_scale");

    /// Writes `model` into `dir` (the tower stays where `visionPath` is). Adapters must be merged and unloaded first
    /// (a LoRA run writes LoraCheckpoint's folder instead).
    public static void Save(OlaVlmModel model, string dir, string visionPath)
    {
        if (Training.Lora.Adapters(model).Any())
            throw new InvalidOperationException("OlaPretrained.Save: the model has LoRA adapters; save them with LoraCheckpoint, or Lora.MergeAndUnload first");
        Directory.CreateDirectory(dir);
        var c = model.Llava.Config;
        File.WriteAllText(Path.Combine(dir, "config.json"), ConfigJson(model, visionPath).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        var tmp = Path.Combine(dir, WeightsFile + ".tmp");
        Checkpoint.Save(model, tmp, ToSaved, n => !n.StartsWith("llava.vision_tower."), c.Text.ModelType == "phi3" ? Phi3Weights.Fuse : null);
        File.Move(tmp, Path.Combine(dir, WeightsFile), overwrite: true);
    }

    /// config.json for `model`: LLaVA's keys, and OLA-VLM's when it has heads.
    public static JsonObject ConfigJson(OlaVlmModel model, string visionPath)
    {
        var j = LlavaParts.ConfigJson(model.Llava.Config, visionPath);
        if (model.Heads is { } heads) AddOlaKeys(j, heads, model.Llava.Config.Text);
        return j;
    }

    static void AddOlaKeys(JsonObject j, OlaHeads heads, LlamaConfig text)
    {
        bool phi3 = text.ModelType == "phi3";
        var cfg = heads.Config;
        j["model_type"] = phi3 ? "ola_phi3" : "ola_llama";
        j["architectures"] = new JsonArray(phi3 ? "OlaLlavaPhi3ForCausalLM" : "OlaLlavaLlamaForCausalLM");
        j["aux_mode"] = string.Join("-", cfg.Tasks.Select(t => t.Name()));
        j["num_task_tokens"] = cfg.NumTaskTokens;
        j["contrastive_loss_weight"] = cfg.ContrastiveWeight;
        j["use_contrastive"] = cfg.UseContrastive;
        var layers = new JsonObject();
        foreach (var t in cfg.Tasks)
            layers[t.Name()] = new JsonObject
            {
                ["layers"] = new JsonArray(cfg.LayersFor(t, text.NumLayers).Select(l => (JsonNode)l).ToArray()),
                ["target"] = new JsonArray(cfg.Spec(t).NumTargetTokens, cfg.Spec(t).TargetDim),
                ["loss_weight"] = cfg.Spec(t).LossWeight,
            };
        j["ola_layers"] = layers;
    }

    /// The OlaConfig a saved folder was trained with (null: a LLaVA-1.5 baseline). `basis` supplies the knobs the
    /// folder does not record (predictor shape, loss reduction): pass the one the model was built with.
    public static OlaConfig? ReadOlaConfig(JsonNode j, OlaConfig? basis = null)
    {
        if (j["aux_mode"] is null) return null;
        basis ??= OlaConfig.Paper;
        var tasks = j["aux_mode"]!.GetValue<string>().Split('-').Select(OlaTaskNames.Parse).ToList();
        int numLayers = j["num_hidden_layers"]!.GetValue<int>();
        // Without ola_layers (a folder the reference wrote) the basis's specs and paper layers stand.
        var specs = j["ola_layers"] is null ? basis.Specs : tasks.ToDictionary(t => t, t =>
        {
            var node = j["ola_layers"]![t.Name()] ?? throw new InvalidDataException($"config.json: aux_mode names {t.Name()} but ola_layers has no entry for it");
            var target = node["target"]!.AsArray();
            return new OlaTaskSpec(t, target[0]!.GetValue<int>(), target[1]!.GetValue<int>(),
                node["layers"]!.AsArray().Select(l => l!.GetValue<int>()).ToList(), node["loss_weight"]?.GetValue<double>() ?? 0.5);
        });
        return basis with
        {
            Tasks = tasks, Specs = specs, PaperNumLayers = j["ola_layers"] is null ? basis.PaperNumLayers : numLayers,
            NumTaskTokens = j["num_task_tokens"]!.GetValue<int>(),
            ContrastiveWeight = j["contrastive_loss_weight"]?.GetValue<double>() ?? basis.ContrastiveWeight,
            UseContrastive = j["use_contrastive"]?.GetValue<bool>() ?? basis.UseContrastive,
        };
    }

    /// Reads a folder written by Save (or any LLaVA folder) with its tower at `visionPath`, strictly.
    public static OlaVlmModel Load(string dir, string visionPath, long imageTokenId, Device? device = null, ScalarType? dtype = null,
                                   ConvNextConfig? convNext = null, OlaConfig? basis = null)
    {
        var config = LlavaParts.ReadConfig(dir, visionPath, imageTokenId, convNext);
        var ola = ReadOlaConfig(Pretrained.ReadConfig(dir), basis);
        var llava = Pretrained.WithDefaultDtype(dtype, () => new LlavaModel(config, device));
        var model = OlaVlmModel.Create(llava, ola);
        if (dtype is ScalarType dt) model.Heads?.to(dt);
        var sd = Checkpoint.Read(dir);
        try
        {
            LlavaParts.LoadTower(llava, visionPath);
            LlavaParts.LoadLanguage(llava, sd.Where(kv => !IsOlaName(kv.Key)).ToDictionary(), dir);
            if (model.Heads is not null)
                Checkpoint.Load(model, sd.Where(kv => IsOlaName(kv.Key)).ToDictionary(), FromSavedOla, dir, ["ola."]);
        }
        catch { model.Dispose(); throw; }
        finally { foreach (var t in sd.Values) t.Dispose(); }
        return model;
    }

    static string FromSavedOla(string saved) => saved.StartsWith("model.special_") ? "ola.task_tokens." + saved["model.".Length..] : "ola." + saved;
}
