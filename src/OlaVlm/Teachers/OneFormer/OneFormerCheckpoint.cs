using System.Text.Json.Nodes;
using OlaVlm.Model;
using static TorchSharp.torch;

namespace OlaVlm.Teachers.OneFormer;

/// Loads the backbone part of a Hugging Face OneFormer checkpoint (what OneFormerModel.from_pretrained reads:
/// model.safetensors, a sharded model.safetensors.index.json, or pytorch_model.bin) into a SwinBackbone.
///
/// The prefix rule: keys under `model.pixel_level_module.encoder.` are the backbone and load by stripping that
/// prefix (HF's SwinBackbone names, 1:1). Keys under SkippedPrefixes are the rest of OneFormer, which OLA-VLM's seg
/// target never runs (`return_features` returns before the pixel decoder), and are deliberately dropped. A key
/// under neither is reported as unknown, so a file of another model is refused instead of half-loaded. A checkpoint
/// saved from a bare OneFormerModel has the same keys without the leading `model.`; both forms are accepted.
public static class OneFormerCheckpoint
{
    public const string BackbonePrefix = "model.pixel_level_module.encoder.";

    public static readonly string[] SkippedPrefixes =
    [
        "model.pixel_level_module.decoder.",   // pixel decoder: deformable-attention encoder + FPN, mask features
        "model.transformer_module.",           // transformer decoder: object queries, class / mask heads
        "model.task_encoder.",                 // task-token MLP ("the task is panoptic")
        "model.text_mapper.",                  // text encoder (built only for training)
        "criterion.",                          // loss buffers (empty_weight) and the contrastive logit scale
    ];

    /// Checkpoint key → SwinBackbone parameter name; null for a deliberately skipped key; the key itself when it
    /// is neither (Checkpoint.Load then reports it as unknown).
    public static string? MapName(string key)
    {
        var full = key.StartsWith("model.") || key.StartsWith("criterion.") ? key : "model." + key;
        if (full.StartsWith(BackbonePrefix)) return full[BackbonePrefix.Length..];
        return SkippedPrefixes.Any(full.StartsWith) ? null : key;
    }

    /// The weight files of an HF OneFormer directory (or the file itself), in HF's order of preference.
    public static IReadOnlyList<string> WeightFiles(string path)
    {
        if (File.Exists(path)) return [path];
        if (!Directory.Exists(path)) throw new FileNotFoundException($"OneFormer checkpoint: no file or directory '{path}'", path);
        var single = Path.Combine(path, "model.safetensors");
        if (File.Exists(single)) return [single];
        var index = Path.Combine(path, "model.safetensors.index.json");
        if (File.Exists(index)) return Checkpoint.ShardFiles(index);   // every shard checked to lie inside the folder
        var bin = Path.Combine(path, "pytorch_model.bin");
        if (File.Exists(bin)) return [bin];
        throw new FileNotFoundException($"OneFormer checkpoint '{path}' has none of model.safetensors, model.safetensors.index.json, pytorch_model.bin");
    }

    /// Strictly loads the backbone from `path` (directory or file) into `backbone`. Every problem (a missing
    /// backbone key, a shape mismatch, an unknown key) is reported at once in one CheckpointMismatchException naming
    /// the file; a truncated or unreadable file is an InvalidDataException naming the file (and the tensor, for
    /// safetensors). The relative position indices are constants: when a file lacks them, the computed ones stay.
    public static void Load(SwinBackbone backbone, string path)
    {
        var files = WeightFiles(path);
        var sd = new Dictionary<string, Tensor>();
        try
        {
            foreach (var file in files)
            {
                foreach (var (k, t) in Checkpoint.Read(file)) sd[k] = t;   // a truncated file is refused naming it
            }
            var present = sd.Keys.Select(MapName).OfType<string>().ToHashSet();
            foreach (var (name, t) in backbone.state_dict())
                if (name.EndsWith("relative_position_index") && !present.Contains(name)) sd[BackbonePrefix + name] = t.clone();
            Checkpoint.Load(backbone, sd, MapName, files.Count == 1 ? files[0] : path);
        }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }
}
