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
/// Sha256: the checkpoint's other files by name (null in checkpoints written before it was recorded).
public sealed record TrainerState(int Step, long Seed, TrainConfig Config, string[] Groups,
                                  long MetricsJsonl, long MetricsCsv, long EvalJsonl, long EvalCsv,
                                  double LastLoss, DateTime SavedUtc, IReadOnlyDictionary<string, string>? Sha256 = null);

/// A checkpoint is a folder <run>/checkpoints/step-000120/ with model.safetensors (weights, readable
/// by Python), optimizer.bin (TorchSharp's AdamW state) and trainer.json. It is written under a
/// temporary name and renamed when complete; <run>/checkpoints/latest names the newest one and is
/// rewritten (atomically) last, so a crash at any moment leaves the previous checkpoint usable. trainer.json records
/// the SHA-256 of the other files: Find skips a damaged checkpoint (naming it) for the previous complete one.
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
        TempFiles.Sweep(root);   // what a run killed while writing a checkpoint left
        var temp = TempFiles.Beside(final);
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
            var hashes = new[] { ModelFile, MastersFile, OptimizerFile }.Where(f => File.Exists(Path.Combine(temp, f)))
                                                                          .ToDictionary(f => f, f => FileHash.Sha256(Path.Combine(temp, f)));
            CacheFile.WriteText(Path.Combine(temp, StateFile), JsonSerializer.Serialize(state with { Sha256 = hashes }, Json));
            if (Directory.Exists(final)) // the same step saved again (e.g. after a resume): replace it
            {
                var old = TempFiles.Beside(final);
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

    /// The newest complete checkpoint of the run that reads back whole (the one `latest` names first, then the others,
    /// newest first), or null when there is none. A damaged one is reported through `log`, named, and removed, and
    /// the previous one is used: a run killed while its disk filled, or a file damaged later, costs a few steps.
    public static string? Find(string runDir, Action<string> log)
    {
        var root = Root(runDir);
        if (!Directory.Exists(root)) return null;
        TempFiles.Sweep(root, log);   // a checkpoint a killed run was writing
        var pointer = Path.Combine(root, LatestFile);
        var named = File.Exists(pointer) ? Path.Combine(root, File.ReadAllText(pointer).Trim()) : null;
        var all = Directory.GetDirectories(root, "step-*").Where(d => Path.GetFileName(d).Length == 11).OrderDescending(StringComparer.Ordinal);
        foreach (var dir in (named is null ? all : all.Prepend(named)).Distinct())
        {
            var why = Damage(dir);
            if (why is null) return dir;
            log($"checkpoint {dir} is damaged ({why}): removed, trying the one before it");
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        return null;
    }

    /// Why the checkpoint folder cannot be resumed from, or null when its files are all there and match trainer.json.
    public static string? Damage(string dir)
    {
        if (!Directory.Exists(dir)) return "it does not exist";
        var statePath = Path.Combine(dir, StateFile);
        if (File.Exists(CacheFile.HashPath(statePath)) && File.Exists(statePath) &&
            File.ReadAllText(CacheFile.HashPath(statePath)).Trim() != FileHash.Sha256(statePath))
            return $"{statePath}: SHA-256 differs from the one recorded beside it";
        TrainerState state;
        try { state = ReadState(dir); }
        catch (InvalidDataException e) { return e.Message; }
        if (Name(state.Step) != Path.GetFileName(dir)) return $"{statePath} says step {state.Step}";
        foreach (var f in new[] { ModelFile, OptimizerFile })
            if (!File.Exists(Path.Combine(dir, f))) return $"{f} is missing";
        foreach (var (f, want) in state.Sha256 ?? new Dictionary<string, string>())
        {
            var path = Path.Combine(dir, f);
            if (!File.Exists(path)) return $"{f} is missing";
            if (FileHash.Sha256(path) != want) return $"{path}: SHA-256 differs from the one {StateFile} records";
        }
        try { SafetensorsHeader.Check(Path.Combine(dir, ModelFile)); }
        catch (InvalidDataException e) { return e.Message; }
        return null;
    }

    public static TrainerState ReadState(string checkpointDir)
    {
        var path = Path.Combine(checkpointDir, StateFile);
        try { return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path), Json) ?? throw new InvalidDataException("empty"); }
        catch (Exception e) when (e is JsonException or InvalidDataException or IOException or NotSupportedException)
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
        SafetensorsHeader.Check(file);
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

        var loaded = Named(file, () => Safetensors.LoadStateDict(file, found.Keys.ToList()));
        using (no_grad())
            foreach (var (key, value) in loaded)
                all[key].copy_(value); // copy_ converts dtype and device, so a bf16 file fills an f32 model
    }

    /// The checkpoint's fp32 master weights in `names` order, or null when it has none (a run without them).
    public static IReadOnlyList<Tensor>? LoadMasters(string checkpointDir, IReadOnlyList<string> names)
    {
        var file = Path.Combine(checkpointDir, MastersFile);
        if (!File.Exists(file)) return null;
        SafetensorsHeader.Check(file);
        var saved = Named(file, () => Safetensors.LoadStateDict(file));
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

    /// The reader's own errors (EndOfStream…) do not say which file: this does.
    static T Named<T>(string file, Func<T> read)
    {
        try { return read(); }
        catch (Exception e) when (e is IOException or InvalidOperationException or ArgumentException or FormatException)
        { throw new InvalidDataException($"Checkpoint {file} ({new FileInfo(file).Length} bytes) cannot be read: {e.GetType().Name}: {e.Message}", e); }
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
