using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using OlaVlm.Data;
using OlaVlm.Foundation;
using OlaVlm.Stages;
using OlaVlm.Teachers;
using OlaVlm.Training;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// A fingerprint of one short run of the whole pipeline from nothing: the first `Steps` losses of every
/// training stage (each teacher, mini CLIP, mini LLM, PT and IFT of both arms), SHA-256 of every teacher
/// target cache, and the greedy benchmark answers. Two processes with the same seed, data and config must
/// write identical fingerprints (a nondeterministic kernel, or NaN that comes and goes, shows
/// here as a difference). Losses are written with round-trip precision, so "identical" means bitwise.
/// What it can verify is bitwise reproduction on ONE machine with the same kernel decisions: "machine" records them
/// (CPU and its vector flags, the oneDNN decision, threads, library versions; Core.Reproducibility). Across machines
/// the pipeline agrees within tolerances, not bit for bit (README, "What is reproducible where").
public static class DeterminismFingerprint
{
    public static JsonObject Run(string outDir, int steps = 20, Device? device = null, Action<string>? log = null)
    {
        device ??= Core.Devices.Default;
        log ??= _ => { };
        var world = OlaVlm.World.MiniWorld.Build(WorldConfig.Quick with { PtScenes = 96, IftScenes = 96, ValScenes = 24, BenchItems = 32 },
                                   Path.Combine(outDir, "world"));
        var f = FoundationConfig.Quick with { ClipSteps = steps, LlmSteps = steps, LogEvery = 1 };
        using var mini = FoundationModels.LoadOrTrain(world, f, device, log, Path.Combine(outDir, "models"));
        var result = new JsonObject
        {
            ["oneDnnEnabled"] = Core.OneDnn.Enabled,
            ["threads"] = get_num_threads(),
            ["machine"] = Core.Reproducibility.Record(),
            ["clip"] = Losses(mini.ClipCurve, "loss"),
            ["llm"] = Losses(mini.LlmCurve, "loss"),
        };

        var stored = WorldTeachers.LoadOrTrain(world, new TeacherTrainConfig { Steps = steps }, device: device, log: log);
        var teachers = new JsonObject();
        var dataset = LlavaDataset.Load(world.PtJson);
        using var bank = ImageBank.Load(dataset);
        var targets = WorldTeachers.Cached(stored.Select(s => (ITeacher)s.Teacher), dataset, bank, "pt", log: log);
        foreach (var s in stored)
        {
            var cache = (TargetCache)targets[TeacherTargets.Task(s.Teacher.Kind)];
            teachers[s.Teacher.Name] = new JsonObject
            {
                ["losses"] = new JsonArray(s.Report!.Losses.Select(l => (JsonNode)R(l)).ToArray()),
                ["weights"] = s.Teacher.WeightsHash,
                ["targets"] = Sha256(cache.DataPath),
            };
        }
        result["teachers"] = teachers;

        var cfg = ExperimentConfig.Quick with
        {
            Pretrain = StageConfig.QuickPretrain with { Steps = steps, LogEvery = 1 },
            Finetune = StageConfig.QuickFinetune with { Steps = steps, LogEvery = 1 },
            BenchLimit = 0,
        };
        var exp = Experiment.RunBaselineAndOla(world, FoundationParts.From(mini, device), targets, cfg, seed: 1, log: log, device: device);
        foreach (var arm in new[] { exp.Baseline, exp.Ola })
            result[arm.Name] = new JsonObject
            {
                ["pt"] = Losses(arm.Stage(StageKind.Pretrain).Metrics, "loss"),
                ["ift"] = Losses(arm.Stage(StageKind.Finetune).Metrics, "loss"),
                ["answers"] = Sha256Text(string.Join("\n", arm.Answers)),
            };
        foreach (var t in targets.Values) t.Dispose();
        return result;
    }

    /// The keys of `a` and `b` whose values differ ("" when identical), for a readable test failure.
    public static IReadOnlyList<string> Differences(JsonNode? a, JsonNode? b, string path = "")
    {
        if (a is JsonObject oa && b is JsonObject ob)
            return oa.Select(kv => kv.Key).Union(ob.Select(kv => kv.Key))
                     .SelectMany(k => Differences(oa[k], ob[k], path + "/" + k)).ToList();
        return JsonNode.DeepEquals(a, b) ? [] : [$"{path}: {a?.ToJsonString() ?? "missing"} vs {b?.ToJsonString() ?? "missing"}"];
    }

    static JsonArray Losses(IReadOnlyList<IReadOnlyDictionary<string, double>> rows, string column) =>
        new(MetricsLog.Column(rows, column).Select(v => (JsonNode)R(v)).ToArray());

    /// Round-trip text: equal strings ⇔ equal bits (NaN included, unlike a JSON number).
    static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    static string Sha256(string path) => Core.FileHash.Sha256(path);

    static string Sha256Text(string text) => Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text))).ToLowerInvariant();
}
