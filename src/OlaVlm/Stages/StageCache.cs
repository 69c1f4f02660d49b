using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using OlaVlm.Ola;
using OlaVlm.Teachers;
using OlaVlm.World;

namespace OlaVlm.Stages;

/// Where one arm's results live under out/experiments/: its PT stage in `pt-<PretrainHash>/<arm>/` (what PT starts
/// from and trains with, nothing after it, so variants that differ after PT share one PT per arm and seed), its later
/// stages, final model and benchmark answers in `<Hash>/<arm>/`.
/// Each folder counts as finished only when its `complete.json` (written last, atomically) lists the SHA-256 of its
/// results and they match: a folder a killed run left is resumed from its checkpoints, a damaged one trained again.
public sealed record ArmFolders(string Arm, string Pretrain)
{
    public const string Seal = "complete.json";
    public string Model => Path.Combine(Arm, "model.safetensors");
    public string Answers => Path.Combine(Arm, "answers.json");
    public string PretrainModel => Path.Combine(Pretrain, "model.safetensors");

    /// Whether PT (`Pretrain`) and the rest (`Arm`) are finished; see Finished.
    public bool PretrainFinished(Action<string> log) => Finished(Pretrain, "PT", log);
    public bool ArmFinished(Action<string> log) => Finished(Arm, "the later stages and the answers", log);

    /// Marks a folder finished: its results' SHA-256 in complete.json.
    public static void Complete(string dir) => Core.FileHash.WriteManifest(dir, Seal, Results(dir));

    /// True when `dir`'s complete.json verifies. A folder with results but no complete.json was left by an interrupted
    /// run (or an older version): false, it is resumed. One whose files differ from complete.json is damaged: reported,
    /// removed, false (it is trained again; the same inputs give the same bits on this machine).
    static bool Finished(string dir, string what, Action<string> log)
    {
        // What a run killed while saving the model, the answers or complete.json left beside them.
        Core.TempFiles.Sweep(dir, log, depth: 1);
        if (!File.Exists(Path.Combine(dir, Seal)))
        {
            if (MixedMetrics(dir) is { } mixed)
            {
                // Versions before complete.json appended a restarted stage's rows to the old ones: such a folder
                // cannot be resumed, and nothing in it is trusted.
                log($"{dir}: {what} not marked complete and its metrics mix two attempts ({mixed}): removed, training it again");
                Directory.Delete(dir, recursive: true);
                return false;
            }
            if (File.Exists(Path.Combine(dir, "model.safetensors")))
                log($"{dir}: {what} not marked complete (an interrupted run, or an older version): resuming it from its checkpoints");
            return false;
        }
        if (Core.FileHash.CheckManifest(dir, Seal) is not { } problem) return true;
        log($"{dir}: {what} damaged ({problem}): removed, training it again");
        Directory.Delete(dir, recursive: true);
        return false;
    }

    /// The first run folder under `dir` whose metrics log has rows of two attempts (MetricsLog.Read refuses it), or null.
    static string? MixedMetrics(string dir)
    {
        foreach (var run in new[] { "pt", "vpt", "ift" }.Select(r => Path.Combine(dir, r)).Where(r => File.Exists(Path.Combine(r, "metrics.jsonl"))))
        {
            try { Training.MetricsLog.Read(run); }
            catch (InvalidDataException e) { return e.Message; }
        }
        return null;
    }

    /// The result files a finished folder holds: model, answers, and each stage's metrics and selection record.
    static IEnumerable<string> Results(string dir) =>
        new[] { "model.safetensors", "answers.json" }
            .Concat(new[] { "pt", "vpt", "ift" }.SelectMany(run => new[] { "metrics.jsonl", "metrics.csv", "init-selection.json" }.Select(f => Path.Combine(run, f))))
            .Where(f => File.Exists(Path.Combine(dir, f)));

    /// A stage's run folder (metrics, checkpoints).
    public string Run(StageKind kind) => kind switch
    {
        StageKind.Pretrain => Path.Combine(Pretrain, "pt"),
        StageKind.VisualPretrain => Path.Combine(Arm, "vpt"),
        _ => Path.Combine(Arm, "ift"),
    };
}

/// The cache keys of an experiment: a hash of everything its results depend on (code version, world, foundation
/// weights, tokenizer, teachers, recipe, seed). Unchanged inputs reuse the saved models and answers.
public static class StageCache
{
    // Bump when training changes what the same inputs produce.
    const string Version = "exp-4";
    static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    /// Key of a whole experiment (both arms, every stage) at `seed`.
    public static string Hash(WorldData world, FoundationParts f, IReadOnlyDictionary<OlaTask, ITargetSource> targets, ExperimentConfig cfg, long seed) =>
        Digest(world, f, targets, JsonSerializer.Serialize(cfg, Json), f.WeightsHash(), seed.ToString());

    /// Key of one arm's PT stage: world, foundation weights, teachers, the PT config with its seed, OLA-VLM's config
    /// (null for the baseline) and the projector's width if not LLaVA's.
    public static string PretrainHash(WorldData world, FoundationParts f, IReadOnlyDictionary<OlaTask, ITargetSource> targets, StageConfig pt, OlaConfig? ola,
                                      int? projectorHidden = null) =>
        Digest(world, f, targets, [JsonSerializer.Serialize(pt, Json), ola is null ? "baseline" : JsonSerializer.Serialize(ola, Json), f.WeightsHash(),
                                   .. projectorHidden is int h ? [$"projector hidden {h}"] : Array.Empty<string>()]);

    /// The folders of arm `name` (OLA-VLM's config `ola`, null for the baseline). The baseline never reads cfg.Ola,
    /// so its folder is keyed without it: OLA-VLM's ablations share one trained baseline per seed.
    public static ArmFolders Folders(string name, OlaConfig? ola, WorldData world, FoundationParts f, IReadOnlyDictionary<OlaTask, ITargetSource> targets,
                                     ExperimentConfig cfg, long seed)
    {
        var key = Hash(world, f, targets, ola is null ? cfg with { Ola = OlaConfig.Miniature } : cfg, seed);
        var pt = PretrainHash(world, f, targets, cfg.Pretrain with { Kind = StageKind.Pretrain, Seed = seed }, ola, cfg.ProjectorHidden);
        return new ArmFolders(Path.Combine(Core.Paths.OutDir("experiments", key), name), Core.Paths.OutDir("experiments", "pt-" + pt, name));
    }

    // The code version and the world, then `recipe` (one line each), then the tokenizer and the teachers.
    static string Digest(WorldData world, FoundationParts f, IReadOnlyDictionary<OlaTask, ITargetSource> targets, params string[] recipe)
    {
        var key = new StringBuilder();
        key.AppendLine(Version).AppendLine(Path.GetFullPath(world.Root)).AppendLine(JsonSerializer.Serialize(world.Manifest, Json));
        foreach (var line in recipe) key.AppendLine(line);
        key.AppendLine(f.Template.ToString()).AppendLine(f.Tokenizer.VocabSize.ToString());
        foreach (var (task, src) in targets.OrderBy(kv => kv.Key)) key.AppendLine($"{task}:{src.TeacherName}:{src.TeacherHash}");
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString())))[..12].ToLowerInvariant();
    }
}
