using TorchSharp;
using TorchSharp.PyBridge;
using OlaVlm.Core;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// State dicts as safetensors files (TorchSharp.PyBridge's reader/writer), strict loading with name maps.
public static class Checkpoint
{
    /// Writes the module's parameters (optionally renamed, e.g. HfNames.ToLlava) to one safetensors file.
    /// include filters by our parameter name (e.g. leave out a frozen tower); layout rewrites the whole renamed
    /// dictionary (e.g. Phi3Weights.Fuse).
    public static void Save(nn.Module module, string path, Func<string, string>? rename = null, Func<string, bool>? include = null,
        Func<IReadOnlyDictionary<string, Tensor>, Dictionary<string, Tensor>>? layout = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var scope = NewDisposeScope();
        var sd = module.state_dict().Where(kv => include?.Invoke(kv.Key) ?? true).ToDictionary(kv => rename?.Invoke(kv.Key) ?? kv.Key, kv => kv.Value.detach().cpu().contiguous());
        if (layout is not null) sd = layout(sd).ToDictionary(kv => kv.Key, kv => kv.Value.contiguous());
        // Written beside and renamed: a kill mid-write leaves the old file (or none), never half of one.
        var temp = TempFiles.Beside(path);
        using (var stream = File.Create(temp)) Safetensors.SaveStateDict(stream, sd);
        File.Move(temp, path, overwrite: true);
    }

    /// Reads one .safetensors file or PyTorch state dict (.bin/.pt/.pth, torch.save of a dict of tensors),
    /// or a directory with model.safetensors, a sharded model.safetensors.index.json (HF's weight_map
    /// layout) or pytorch_model.bin. Tensors land on the CPU.
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (File.Exists(path)) return ReadFile(path);
        if (!Directory.Exists(path)) throw new FileNotFoundException($"Checkpoint: no file or directory '{path}'");
        var single = Path.Combine(path, "model.safetensors");
        if (File.Exists(single)) return ReadFile(single);
        var bin = Path.Combine(path, "pytorch_model.bin");
        if (File.Exists(bin)) return ReadFile(bin);
        var index = Path.Combine(path, "model.safetensors.index.json");
        if (!File.Exists(index)) throw new FileNotFoundException($"Checkpoint: '{path}' has neither model.safetensors nor model.safetensors.index.json");
        var all = new Dictionary<string, Tensor>();
        foreach (var shard in ShardFiles(index))
            foreach (var kv in ReadFile(shard)) all[kv.Key] = kv.Value;
        return all;
    }

    /// The shard files a model.safetensors.index.json names (HF's weight_map), each checked to lie inside the
    /// index's folder: an entry such as "../other/model.safetensors" is refused, naming the index and the key.
    public static IReadOnlyList<string> ShardFiles(string index)
    {
        var dir = Path.GetFullPath(Path.GetDirectoryName(Path.GetFullPath(index))!);
        return ConfigJson.Read(index, j =>
        {
            var map = j["weight_map"] as System.Text.Json.Nodes.JsonObject ?? throw new InvalidDataException($"{index}: no weight_map object");
            var files = new List<string>();
            foreach (var (key, value) in map)
            {
                var name = value is System.Text.Json.Nodes.JsonValue v && v.TryGetValue(out string? s) ? s : null;
                var full = name is null ? null : Path.GetFullPath(Path.Combine(dir, name));
                if (full is null || !full.StartsWith(dir + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                    throw new InvalidDataException($"{index}: weight_map['{key}'] = {value?.ToJsonString() ?? "null"} is not a file inside {dir}");
                if (!files.Contains(full)) files.Add(full);
            }
            return files;
        });
    }

    /// One file; a truncated or corrupt one fails with an error that names it (the readers' own messages do not).
    static Dictionary<string, Tensor> ReadFile(string path)
    {
        if (!IsPickle(path)) SafetensorsHeader.Check(path);
        try { return IsPickle(path) ? ReadPickle(path) : Safetensors.LoadStateDict(path); }
        catch (Exception e) when (e.GetType().Name == "PickleException")
        {
            // The unpickler builds tensors and containers only: any other global (os.system, …) is refused unrun.
            throw new InvalidDataException($"Checkpoint {path}: its pickle is not a state dict of tensors (refused; nothing in it " +
                                           $"was run): {e.Message}", e);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"Checkpoint {path} ({new FileInfo(path).Length} bytes) is truncated or not a " +
                                           $"{(IsPickle(path) ? "torch.save'd state dict" : "safetensors file")}: {e.GetType().Name}: {e.Message}", e);
        }
    }

    static bool IsPickle(string path) => Path.GetExtension(path).ToLowerInvariant() is ".bin" or ".pt" or ".pth";

    /// A torch.save'd state dict (PyBridge's unpickler): string keys, tensor values, nothing else.
    static Dictionary<string, Tensor> ReadPickle(string path)
    {
        var table = PyTorchUnpickler.UnpickleStateDict(path);
        var sd = new Dictionary<string, Tensor>();
        foreach (System.Collections.DictionaryEntry e in table)
            sd[(string)e.Key] = e.Value as Tensor ?? throw new InvalidDataException($"Checkpoint {path}: entry '{e.Key}' is not a tensor");
        return sd;
    }

    /// Copies `stateDict` into `module` after mapping names (null = drop the key). Any unknown key,
    /// missing parameter or shape mismatch throws one CheckpointMismatchException listing all of them;
    /// nothing is copied in that case. dtype and device follow the module.
    /// onlyUnder: when set, only module parameters under these name prefixes are expected (for checkpoints
    /// that hold part of a model, e.g. LLaVA weights without the CLIP tower).
    public static void Load(nn.Module module, IReadOnlyDictionary<string, Tensor> stateDict, Func<string, string?>? mapName = null,
        string source = "checkpoint", IReadOnlyList<string>? onlyUnder = null)
    {
        var target = module.state_dict()
            .Where(kv => onlyUnder is null || onlyUnder.Any(p => kv.Key.StartsWith(p)))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        var mapped = new Dictionary<string, Tensor>();
        var problems = new List<CheckpointMismatchException.Problem>();
        foreach (var (key, value) in stateDict)
        {
            var name = mapName is null ? key : mapName(key);
            if (name is null) continue;
            if (!target.TryGetValue(name, out var t))
            {
                problems.Add(new(key == name ? key : $"{key} (as {name})", CheckpointMismatchException.UnknownKind, null, value.shape));
                continue;
            }
            if (!t.shape.SequenceEqual(value.shape)) { problems.Add(new(name, CheckpointMismatchException.ShapeKind, t.shape, value.shape)); continue; }
            mapped[name] = value;
        }
        foreach (var (k, t) in target)
            if (!mapped.ContainsKey(k) && !problems.Any(p => p.Key == k)) problems.Add(new(k, CheckpointMismatchException.MissingKind, t.shape, null));
        if (problems.Count > 0) throw new CheckpointMismatchException(source, problems);
        using var _ = no_grad();
        foreach (var (name, value) in mapped) target[name].copy_(value);
    }

    /// Reads `path` (file or directory) and loads it strictly into `module`.
    public static void Load(nn.Module module, string path, Func<string, string?>? mapName = null, IReadOnlyList<string>? onlyUnder = null)
    {
        var sd = Read(path);
        try { Load(module, sd, mapName, path, onlyUnder); }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }
}
