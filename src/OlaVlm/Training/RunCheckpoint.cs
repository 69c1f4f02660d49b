using OlaVlm.Core;
using OlaVlm.Model;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace OlaVlm.Training;

/// What trainer.json holds: enough to continue exactly where the run stopped.
/// Step = optimizer steps completed. Metrics positions let a resume cut rows logged after this point.
public sealed record TrainerState(int Step, long Seed, TrainConfig Config, string[] Groups,
                                  long MetricsJsonl, long MetricsCsv, long EvalJsonl, long EvalCsv,
                                  double LastLoss, DateTime SavedUtc);

/// A checkpoint is a folder <run>/checkpoints/step-000120/ with model.safetensors (weights, readable
/// by Python), optimizer.bin (TorchSharp's AdamW state) and trainer.json. It is written under a
/// temporary name and renamed when complete; <run>/checkpoints/latest names the newest one and is
/// rewritten (atomically) last, so a crash at any moment leaves the previous checkpoint usable.
public static class RunCheckpoint
{
    public const string ModelFile = "model.safetensors", OptimizerFile = "optimizer.bin", StateFile = "trainer.json", LatestFile = "latest";
    /// fp32 master copies of the trainable weights (only for TrainConfig.Fp32MasterWeights), by parameter name.
    public const string MastersFile = "masters.safetensors";
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static string Root(string runDir) => Path.Combine(runDir, "checkpoints");
    public static string Name(int step) => $"step-{step:D6}";

    /// Writes a complete checkpoint for `state.Step`, moves `latest` to it, then keeps only the newest `keep`.
    /// masters: fp32 master weights by parameter name (MasterWeights), written to masters.safetensors.
    public static string Save(string runDir, nn.Module model, OptimizerHelper? optimizer, TrainerState state,
                              bool trainableOnly = false, int keep = 2, IReadOnlyDictionary<string, Tensor>? masters = null)
    {
        var root = Root(runDir);
        Directory.CreateDirectory(root);
        var final = Path.Combine(root, Name(state.Step));
        var temp = Path.Combine(root, $".{Name(state.Step)}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            using (var scope = NewDisposeScope())
            {
                var sd = Selected(model, trainableOnly);
                AtomicFile.Write(Path.Combine(temp, ModelFile), s => Safetensors.SaveStateDict(s, sd, leaveOpen: true));
            }
            if (masters != null)
                AtomicFile.Write(Path.Combine(temp, MastersFile), s =>
                {
                    using var scope = NewDisposeScope();
                    Safetensors.SaveStateDict(s, masters.ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().contiguous()), leaveOpen: true);
                });
            if (optimizer != null)
                AtomicFile.Write(Path.Combine(temp, OptimizerFile), s =>
                {
                    using var w = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
                    optimizer.save_state_dict(w);
                });
            AtomicFile.WriteText(Path.Combine(temp, StateFile), JsonSerializer.Serialize(state, Json));
            if (Directory.Exists(final)) // the same step saved again (e.g. after a resume): replace it
            {
                var old = final + $".old-{Guid.NewGuid():N}";
                Directory.Move(final, old);
                Directory.Move(temp, final);
                Directory.Delete(old, recursive: true);
            }
            else Directory.Move(temp, final);
        }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }
        AtomicFile.WriteText(Path.Combine(root, LatestFile), Name(state.Step));
        Prune(root, keep, Name(state.Step));
        return final;
    }

    /// The folder `latest` points at, or null when the run has no checkpoint yet.
    public static string? Latest(string runDir)
    {
        var pointer = Path.Combine(Root(runDir), LatestFile);
        if (!File.Exists(pointer)) return null;
        var dir = Path.Combine(Root(runDir), File.ReadAllText(pointer).Trim());
        if (!Directory.Exists(dir)) throw new InvalidDataException($"Checkpoint: {pointer} names {dir}, which does not exist");
        return dir;
    }

    public static TrainerState ReadState(string checkpointDir)
    {
        var path = Path.Combine(checkpointDir, StateFile);
        try { return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path), Json) ?? throw new InvalidDataException("empty"); }
        catch (Exception e) when (e is JsonException or InvalidDataException or IOException)
        { throw new InvalidDataException($"Checkpoint: cannot read trainer state {path}: {e.Message}", e); }
    }

    /// Loads weights from a safetensors file after checking every key and shape first: unknown keys,
    /// missing keys and shape mismatches all come back in ONE CheckpointMismatchException.
    /// trainableOnly: only the model's trainable parameters (and buffers) are required.
    public static void LoadModel(nn.Module model, string file, bool trainableOnly = false)
    {
        using var scope = NewDisposeScope();
        var expected = Selected(model, trainableOnly);
        var all = model.state_dict();
        var found = SafetensorsHeader.ReadShapes(file);

        var problems = new List<CheckpointMismatchException.Problem>();
        foreach (var (key, shape) in found)
        {
            if (!all.TryGetValue(key, out var t)) problems.Add(new(key, CheckpointMismatchException.UnknownKind, null, shape));
            else if (!t.shape.SequenceEqual(shape)) problems.Add(new(key, CheckpointMismatchException.ShapeKind, t.shape, shape));
        }
        foreach (var (key, t) in expected)
            if (!found.ContainsKey(key)) problems.Add(new(key, CheckpointMismatchException.MissingKind, t.shape, null));
        if (problems.Count > 0) throw new CheckpointMismatchException(file, problems);

        var loaded = Safetensors.LoadStateDict(file, found.Keys.ToList());
        using (no_grad())
            foreach (var (key, value) in loaded)
                all[key].copy_(value); // copy_ converts dtype and device, so a bf16 file fills an f32 model
    }

    /// The checkpoint's fp32 master weights in `names` order, or null when it has none (a run without them).
    public static IReadOnlyList<Tensor>? LoadMasters(string checkpointDir, IReadOnlyList<string> names)
    {
        var file = Path.Combine(checkpointDir, MastersFile);
        if (!File.Exists(file)) return null;
        var saved = Safetensors.LoadStateDict(file);
        var missing = names.Where(n => !saved.ContainsKey(n)).ToList();
        if (missing.Count > 0 || saved.Count != names.Count)
            throw new InvalidDataException($"Checkpoint: {file} holds master weights for [{string.Join(", ", saved.Keys.Take(6))}…], " +
                                           $"this trainer trains [{string.Join(", ", names.Take(6))}…] (missing: {string.Join(", ", missing.Take(6))})");
        return names.Select(n => saved[n]).ToList();
    }

    public static void LoadOptimizer(OptimizerHelper optimizer, string file)
    {
        try
        {
            using var r = new BinaryReader(File.OpenRead(file));
            optimizer.load_state_dict(r);
        }
        catch (Exception e) when (e is not FileNotFoundException)
        { throw new InvalidDataException($"Checkpoint: optimizer state {file} does not fit this optimizer: {e.Message}", e); }
    }

    /// The state-dict entries a checkpoint holds: everything, or trainable parameters plus buffers.
    static Dictionary<string, Tensor> Selected(nn.Module model, bool trainableOnly)
    {
        var sd = model.state_dict();
        if (!trainableOnly) return sd;
        var frozen = model.named_parameters().Where(p => !p.parameter.requires_grad).Select(p => p.name).ToHashSet();
        return sd.Where(kv => !frozen.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    static void Prune(string root, int keep, string current)
    {
        var done = Directory.GetDirectories(root, "step-*").Select(Path.GetFileName).Where(n => n!.Length == 11).Order().ToList();
        foreach (var name in done.Take(Math.Max(0, done.Count - keep)))
            if (name != current) Directory.Delete(Path.Combine(root, name!), recursive: true);
    }
}
