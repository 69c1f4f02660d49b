using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// A teacher from the store, and whether it had to be trained now.
public sealed record StoredTeacher(MiniTeacher Teacher, string WeightsPath, bool TrainedNow, TrainReport? Report, TeacherScore? Score);

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
    /// trained teacher then reads no images (issue 12: reloads in seconds).
    public static StoredTeacher LoadOrTrain(TeacherKind kind, TeacherConfig config, Func<TeacherData> getData, string dataKey, string dir,
                                            TeacherTrainConfig? train = null, Func<TeacherData>? getVal = null, Device? device = null,
                                            Action<string>? log = null)
    {
        if (config.Kind != kind) throw new ArgumentException($"TeacherStore: kind {kind} but config is a {config.Kind} config ({config.GetType().Name})");
        train ??= new TeacherTrainConfig();
        var path = Path.Combine(dir, config.DisplayName + ".safetensors");
        var trainJson = JsonSerializer.Serialize(train);
        var why = Mismatch(path, kind, config, trainJson, dataKey);
        if (why is null)
        {
            log?.Invoke($"{config.DisplayName}: reusing {path}");
            return new StoredTeacher(MiniTeacher.Load(path, device), path, false, null, null);
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

    /// Why the checkpoint at `path` cannot be reused, or null when it can.
    static string? Mismatch(string path, TeacherKind kind, TeacherConfig config, string trainJson, string dataHash)
    {
        var jsonPath = MiniTeacher.ConfigPath(path);
        if (!File.Exists(path) || !File.Exists(jsonPath)) return "no checkpoint";
        JsonObject json;
        try { json = JsonNode.Parse(File.ReadAllText(jsonPath))!.AsObject(); }
        catch (Exception e) { return $"unreadable {jsonPath}: {e.Message}"; }
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
