using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// A teacher from the store, and whether it had to be trained now (Shipped: loaded from the repository's data/teachers).
public sealed record StoredTeacher(MiniTeacher Teacher, string WeightsPath, bool TrainedNow, TrainReport? Report, TeacherScore? Score,
                                   bool Shipped = false);

/// Trains a mini teacher once and reuses it: `<dir>/<name>.safetensors` + `<name>.json` recording the
/// config, the training knobs and the data's content hash. A checkpoint is reused only when all three match.
public static class TeacherStore
{
    public static StoredTeacher LoadOrTrain(TeacherKind kind, TeacherConfig config, TeacherData data, string dir,
                                            TeacherTrainConfig? train = null, TeacherData? val = null, Device? device = null,
                                            Action<string>? log = null) =>
        LoadOrTrain(kind, config, () => data, data.ContentHash, dir, train, val is null ? null : () => val, device, log);

    /// As above with the data built only when training is needed; `dataKey` stands for its content (e.g. the
    /// world's hash, split and limit: the world is a pure function of its config). Reopening a notebook over a
    /// trained teacher then reads no images (a reload takes seconds).
    /// shippedDir: a folder of teachers written by Ship (data/teachers); when `dir` holds no reusable checkpoint and
    /// the shipped one was trained with the same config, knobs and data, and its files' SHA-256 verify, it is loaded
    /// from there instead of training (the main job's teachers are trained once, like the foundations).
    public static StoredTeacher LoadOrTrain(TeacherKind kind, TeacherConfig config, Func<TeacherData> getData, string dataKey, string dir,
                                            TeacherTrainConfig? train = null, Func<TeacherData>? getVal = null, Device? device = null,
                                            Action<string>? log = null, string? shippedDir = null)
    {
        if (config.Kind != kind) throw new ArgumentException($"TeacherStore: kind {kind} but config is a {config.Kind} config ({config.GetType().Name})");
        train ??= new TeacherTrainConfig();
        var path = Path.Combine(dir, config.DisplayName + ".safetensors");
        var trainJson = JsonSerializer.Serialize(train);
        Core.TempFiles.Sweep(dir, log);   // weights a killed run was writing
        var why = Mismatch(path, kind, config, trainJson, dataKey);
        if (why is null)
        {
            // The JSON records the weights' hash, which Load checks: a damaged cached teacher is trained again.
            try
            {
                var reused = MiniTeacher.Load(path, device);
                log?.Invoke($"{config.DisplayName}: reusing {path}");
                return new StoredTeacher(reused, path, false, null, null);
            }
            catch (InvalidDataException e) { why = $"the cached teacher is damaged ({e.Message})"; log?.Invoke($"{config.DisplayName}: {why}"); }
        }
        if (shippedDir is not null && Directory.Exists(shippedDir))
        {
            var shipped = Path.Combine(shippedDir, config.DisplayName + ".safetensors");
            // Verified before anything is read from them: a damaged shipped file stops (never silently retrained over).
            if (Shipped(shippedDir, config.DisplayName) && Core.FileHash.CheckManifest(shippedDir, ManifestName, ShippedFiles(config.DisplayName)) is { } bad)
                throw new Core.ShippedFileException(bad, RetrainHint);
            var shippedWhy = Mismatch(shipped, kind, config, trainJson, dataKey) ?? VerifyShipped(shippedDir, config.DisplayName);
            if (shippedWhy is null)
            {
                log?.Invoke($"{config.DisplayName}: shipped {shipped} (config, training knobs, data and SHA-256 verified)");
                return new StoredTeacher(MiniTeacher.Load(shipped, device), shipped, false, null, null, Shipped: true);
            }
            log?.Invoke($"{config.DisplayName}: not using shipped {shipped}: {shippedWhy}");
        }
        log?.Invoke($"{config.DisplayName}: training ({why})");
        var teacher = MiniTeacher.Create(config, device);
        var data = getData();
        var val = getVal?.Invoke();
        var report = TeacherTrainer.Train(teacher, data, train.Steps, train);
        var score = val is null ? null : teacher.Evaluate(val);
        var meta = new JsonObject
        {
            ["dataHash"] = dataKey,
            ["train"] = JsonNode.Parse(trainJson),
            ["trainSeconds"] = report.Seconds,
            ["firstLoss"] = report.FirstLoss,
            ["lastLoss"] = report.LastLoss,
        };
        if (score is not null) meta["valMetrics"] = JsonSerializer.SerializeToNode(score.Values);
        teacher.Save(path, meta);
        log?.Invoke($"{config.DisplayName}: {report.Seconds:0.0}s, loss {report.FirstLoss:0.###} → {report.LastLoss:0.###}{(score is null ? "" : ", " + score)}");
        return new StoredTeacher(teacher, path, true, report, score);
    }

    public const string ManifestName = "teachers.json";

    /// Copies trained teachers (weights + their JSON) into `dest`, replacing an earlier shipment there, with a manifest
    /// (teachers.json) listing every file's SHA-256. Returns `dest`. A non-empty `dest` without a manifest is refused.
    public static string Ship(IEnumerable<StoredTeacher> teachers, string dest, JsonObject? about = null)
    {
        if (Directory.Exists(dest) && Directory.EnumerateFileSystemEntries(dest).Any() && !File.Exists(Path.Combine(dest, ManifestName)))
            throw new IOException($"TeacherStore.Ship: {dest} is not empty and holds no {ManifestName}: not a teacher shipment, left as it is");
        if (Directory.Exists(dest)) Directory.Delete(dest, recursive: true);
        Directory.CreateDirectory(dest);
        var names = new List<string>();
        foreach (var t in teachers)
            foreach (var from in new[] { t.WeightsPath, MiniTeacher.ConfigPath(t.WeightsPath) })
            {
                names.Add(Path.GetFileName(from));
                File.Copy(from, Path.Combine(dest, names[^1]));
            }
        var meta = about?.DeepClone().AsObject() ?? new JsonObject();
        meta["machine"] ??= Core.Reproducibility.Record();   // what bitwise reproduction of these files needs
        Core.FileHash.WriteManifest(dest, ManifestName, names, meta);
        return dest;
    }

    /// Why the shipped teacher `name` in `dir` does not match the SHA-256 in the manifest, or null when it does.
    static string? VerifyShipped(string dir, string name) => Core.FileHash.VerifyManifest(dir, ManifestName, ShippedFiles(name));

    static string[] ShippedFiles(string name) => [name + ".safetensors", name + ".json"];

    /// Whether the shipment in `dir` lists teacher `name` (then its files must verify) — any readable manifest that does.
    static bool Shipped(string dir, string name)
    {
        var manifest = Path.Combine(dir, ManifestName);
        if (!File.Exists(manifest)) return Directory.EnumerateFileSystemEntries(dir).Any();   // files without their manifest
        try { return Core.JsonFile.Parse(manifest)["sha256"]?[name + ".safetensors"] is not null; }
        catch (InvalidDataException) { return true; }   // a damaged manifest is itself a damaged shipped file
    }

    const string RetrainHint = "ship new ones with `dotnet run --project src/OlaCheck -c Release -- teachers` " +
                               "(environment/pretrain-teachers.sh, ~2 min), or train them under out/ with WorldTeachers.LoadOrTrain(…, shipped: \"\")";

    /// Why the checkpoint at `path` cannot be reused, or null when it can.
    static string? Mismatch(string path, TeacherKind kind, TeacherConfig config, string trainJson, string dataHash)
    {
        var jsonPath = MiniTeacher.ConfigPath(path);
        if (!File.Exists(path) || !File.Exists(jsonPath)) return "no checkpoint";
        JsonObject json;
        try { json = Core.JsonFile.Object(jsonPath); }
        catch (Exception e) { return $"unreadable: {e.Message}"; }
        if (json["kind"]?.GetValue<string>() != kind.ToString()) return "different kind";
        try
        {
            if (TeacherConfig.FromJson(kind, json["config"]!.ToJsonString()).ToJson() != config.ToJson()) return "config changed";
        }
        catch (Exception e) { return $"bad config in {jsonPath}: {e.Message}"; }
        if (json["dataHash"]?.GetValue<string>() != dataHash) return "data changed";
        var storedTrain = json["train"]?.ToJsonString();
        if (storedTrain is null || JsonSerializer.Serialize(JsonSerializer.Deserialize<TeacherTrainConfig>(storedTrain)) != trainJson) return "training settings changed";
        return null;
    }
}
