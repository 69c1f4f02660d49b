using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Loads ClipConvNextVisionTower from an OpenCLIP release, e.g. laion/CLIP-convnext_xxlarge-laion2B-s34B-b82K-augreg-soup:
/// its `open_clip_pytorch_model.bin` (torch.save of the whole CLIP's state dict) or `open_clip_model.safetensors`,
/// given as the file or as the downloaded repository folder (then its open_clip_config.json, if present, must
/// name the config's timm model). Strict: every trunk parameter must be in the file with its shape.
public static class ConvNextPretrained
{
    public const string BinFile = "open_clip_pytorch_model.bin", SafetensorsFile = "open_clip_model.safetensors", ConfigFile = "open_clip_config.json";

    /// The names kept, as (checkpoint prefix, what follows it): the trunk's stem and stages, in an OpenCLIP file
    /// (`visual.trunk.`) or in an OLA-VLM/LLaVA checkpoint that saved the tower (`model.vision_tower.vision_tower.`,
    /// what the reference's reload_from_ckpt reads).
    static readonly string[] Prefixes = ["visual.trunk.", "model.vision_tower.vision_tower."];

    /// Checkpoint name → tower name, or null for a key the encoder does not use, which is dropped:
    /// everything outside the trunk's `stem.` and `stages.` — `visual.trunk.head.*` (the LayerNorm of OpenCLIP's
    /// pooled image embedding), `visual.head.*` (the projection into CLIP's joint space), the text tower
    /// (`transformer.*`, `token_embedding.*`, `positional_embedding`, `ln_final.*`, `text_projection`) and
    /// `logit_scale`; in an OLA-VLM checkpoint, the LLM, projector and heads. Nothing the tower needs can be
    /// dropped unseen: a missing stem or stage tensor still fails the strict load.
    public static string? FromOpenClip(string name)
    {
        foreach (var prefix in Prefixes)
            if (name.StartsWith(prefix))
            {
                var rest = name[prefix.Length..];
                return rest.StartsWith("stem.") || rest.StartsWith("stages.") ? rest : null;
            }
        return null;
    }

    /// Builds the tower for `config` (default: XXLarge at 768²) directly in `dtype` on `device` and loads `path`.
    public static ClipConvNextVisionTower Load(string path, ConvNextConfig? config = null, Device? device = null, ScalarType? dtype = null)
    {
        config ??= ConvNextConfig.XXLarge();
        var file = ResolveFile(path, config);
        var sd = Checkpoint.Read(file);   // a truncated or foreign file is refused naming it
        try
        {
            var tower = new ClipConvNextVisionTower(config, device, dtype, initialize: false);
            Checkpoint.Load(tower, sd, FromOpenClip, file);
            tower.eval();
            return tower;
        }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }

    /// The weights file of `path`: the file itself, or the folder's open_clip_model.safetensors, else its
    /// open_clip_pytorch_model.bin, after checking the folder's open_clip_config.json against `config` (if given).
    public static string ResolveFile(string path, ConvNextConfig? config = null)
    {
        if (File.Exists(path)) return path;
        if (!Directory.Exists(path)) throw new FileNotFoundException($"ConvNextPretrained: no file or folder '{path}'", path);
        if (config is not null) CheckConfig(path, config);
        foreach (var name in new[] { SafetensorsFile, BinFile })
            if (File.Exists(Path.Combine(path, name))) return Path.Combine(path, name);
        throw new FileNotFoundException($"ConvNextPretrained: '{path}' has neither {SafetensorsFile} nor {BinFile}");
    }

    /// open_clip_config.json's model_cfg.vision_cfg.timm_model_name must be the config's (when both are known).
    static void CheckConfig(string dir, ConvNextConfig config)
    {
        var file = Path.Combine(dir, ConfigFile);
        if (!File.Exists(file) || config.TimmModelName is null) return;
        var json = Core.JsonFile.Parse(file);
        var name = json["model_cfg"]?["vision_cfg"]?["timm_model_name"]?.GetValue<string>();
        if (name != config.TimmModelName)
            throw new InvalidDataException($"{file}: model_cfg.vision_cfg.timm_model_name is '{name ?? "(missing)"}', the config builds '{config.TimmModelName}'");
    }
}
