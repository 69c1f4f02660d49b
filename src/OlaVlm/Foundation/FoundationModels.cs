using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using OlaVlm.Data;
using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.Training;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Foundation;

/// Trains the mini CLIP and mini LLM once per (world, FoundationConfig) and reuses them afterwards.
/// Cache folder out/models/<hash>/: clip/{model.safetensors, config.json, run/metrics.*},
/// llm/{model.safetensors, config.json (HF LlamaConfig keys), run/metrics.*}, tokenizer.json and
/// foundation.json (config, world hash, figures), which is written last so a half-written folder is
/// never taken for a finished one.
public static class FoundationModels
{
    /// Bump when training code changes what the same config produces (docs/history.md lists the versions).
    public const string Version = "found-10";
    /// Versions whose LLM training code is today's: an LLM trained by one of them, for the same LLM knobs and
    /// world, is the LLM this code would train (what `llmFrom` may take over).
    internal static readonly string[] SameLlmCode = ["found-8", "found-9", "found-10"];
    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string CacheDir(WorldData world, FoundationConfig config) =>
        Core.Paths.OutDir("models", config.Hash(MiniWorld.ConfigHash(world.Manifest.Config)));

    /// The committed foundations of the default profile.
    public static string ShippedDir => Path.Combine(Core.Paths.Data, "foundation");

    /// Files a finished foundation folder holds (all hashed in foundation.json when shipped).
    internal static readonly string[] Files =
    [
        "tokenizer.json", "clip/model.safetensors", "clip/config.json", "clip/run/metrics.jsonl",
        "llm/model.safetensors", "llm/config.json", "llm/run/metrics.jsonl",
    ];

    /// Loads the models for this world and config: from out/models/<hash> when trained before (its files' SHA-256
    /// verified: a damaged cache is reported and trained again), else from the shipped data/foundation when it
    /// matches, else trains them (retrain: always train). A shipped file whose SHA-256 differs stops with a
    /// ShippedFileException saying how to restore it or retrain on purpose: shipped files are never replaced silently.
    /// llmFrom: a finished foundation folder whose LLM to take over instead of training it again, when only the CLIP's
    /// recipe differs (same LLM knobs, world and LLM code; checked, else an error saying what differs).
    /// shippedDir: the shipped folder (default data/foundation).
    public static MiniFoundation LoadOrTrain(WorldData world, FoundationConfig config, Device? device = null, Action<string>? log = null,
        string? dir = null, bool retrain = false, string? llmFrom = null, string? shippedDir = null)
    {
        config.Validate();
        device ??= Core.Devices.Default;
        log ??= _ => { };
        string worldHash = MiniWorld.ConfigHash(world.Manifest.Config);
        dir ??= CacheDir(world, config);
        shippedDir ??= ShippedDir;
        var template = ChatTemplate.Miniature();
        var unfinished = retrain ? null : Mismatch(dir, config, worldHash);
        var damage = retrain || unfinished is not null ? null : CacheDamage(dir, log);
        var why = retrain ? "retraining was asked for" : unfinished ?? damage;
        if (why is null)
        {
            log($"foundation models: reusing {dir} (SHA-256 of every file verified)");
            return Load(dir, config, template, device);
        }
        // The shipped foundations (data/foundation, made by environment/pretrain-foundations.sh): their files' SHA-256
        // are verified first, then they are used as they are when they were trained for this config and world.
        if (!retrain && Directory.Exists(shippedDir))
        {
            if (Core.FileHash.CheckManifest(shippedDir, "foundation.json") is { } bad) throw new Core.ShippedFileException(bad, RetrainHint);
            var shippedWhy = Mismatch(shippedDir, config, worldHash);
            if (shippedWhy is null)
            {
                log($"foundation models: shipped {shippedDir} (SHA-256 of every file verified; {Core.Reproducibility.Describe(Machine(shippedDir))})");
                return Load(shippedDir, config, template, device);
            }
            log($"foundation models: not using shipped {shippedDir}: {shippedWhy}");
        }
        log($"foundation models: training ({why}) into {dir}");
        // An interrupted training resumes from its checkpoints; a retrain, or a damaged cache, starts over.
        return FoundationTraining.Train(world, config, worldHash, template, dir, device, log, llmFrom, resume: !retrain && damage is null);
    }

    static MiniFoundation Load(string dir, FoundationConfig f, ChatTemplate template, Device device)
    {
        var meta = Core.JsonFile.Parse(Path.Combine(dir, "foundation.json"));
        var tok = WordTokenizer.Load(Path.Combine(dir, "tokenizer.json"));
        var clip = MiniClip.Load(Path.Combine(dir, "clip"), device);
        var llmPath = Path.Combine(dir, "llm", "config.json");
        var llmConfig = LlamaConfig.FromHfJson(Model.ConfigJson.Parse(llmPath), llmPath);
        var lm = new LlamaForCausalLM(llmConfig, device, initialize: false);
        Model.Checkpoint.Load(lm, Path.Combine(dir, "llm", "model.safetensors"));
        var clipReport = meta["clip"].Deserialize<ClipReport>(Json) ?? throw new InvalidDataException($"{dir}/foundation.json: no clip report");
        var llmReport = meta["llm"].Deserialize<LlmReport>(Json) ?? throw new InvalidDataException($"{dir}/foundation.json: no llm report");
        var oracle = meta["oracle"]?.Deserialize<OracleReport>(Json);
        return new MiniFoundation(clip, lm, tok, template, clipReport, llmReport, f, dir, false) { Oracle = oracle };
    }

    /// Copies a trained foundation into `dest` (default data/foundation): weights, configs, tokenizer and
    /// training logs (no optimizer checkpoints), with foundation.json listing every file's SHA-256.
    public static string Ship(MiniFoundation m, string? dest = null)
    {
        dest ??= ShippedDir;
        if (Directory.Exists(dest)) Directory.Delete(dest, recursive: true);
        var files = Files.Concat(Directory.Exists(m.ReasoningRunDir) ? ["llm/reasoning/metrics.jsonl"] : Array.Empty<string>()).ToList();
        foreach (var f in files)
        {
            var to = Path.Combine(dest, f);
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(Path.Combine(m.Dir, f), to);
        }
        var meta = Core.JsonFile.Object(Path.Combine(m.Dir, "foundation.json"));
        meta["machine"] ??= Core.Reproducibility.Record();   // what bitwise reproduction of these files needs
        Core.FileHash.WriteManifest(dest, "foundation.json", files, meta);
        return dest;
    }

    /// Why a shipped folder's files do not match the SHA-256 its foundation.json lists, or null when they all do.
    public static string? VerifyHashes(string dir) => Core.FileHash.VerifyManifest(dir, "foundation.json");

    /// The two ways on from a damaged shipped file besides restoring it.
    const string RetrainHint = "set `retrain = true` in notebook 02 (trains into out/models), or ship new ones with " +
                               "`dotnet run --project src/OlaCheck -c Release -- foundations` (environment/pretrain-foundations.sh, ~35 min)";

    /// Why a finished cache folder cannot be trusted (a file differs from the SHA-256 its foundation.json records; it
    /// is then trained again), or null. A folder from before the hashes were recorded gets them now.
    static string? CacheDamage(string dir, Action<string> log)
    {
        var meta = Core.JsonFile.Object(Path.Combine(dir, "foundation.json"));
        if (meta["sha256"] is null)
        {
            Core.FileHash.WriteManifest(dir, "foundation.json", FilesIn(dir), meta);
            log($"foundation models: recorded the SHA-256 of {dir}'s files (written before they were kept)");
            return null;
        }
        var problem = Core.FileHash.CheckManifest(dir, "foundation.json");
        if (problem is null) return null;
        log($"foundation models: cache {dir} is damaged ({problem})");
        return $"the cache is damaged: {problem.File}";
    }

    /// The files of a finished folder that its foundation.json hashes.
    internal static IEnumerable<string> FilesIn(string dir) =>
        Files.Concat(File.Exists(Path.Combine(dir, "llm", "reasoning", "metrics.jsonl")) ? ["llm/reasoning/metrics.jsonl"] : Array.Empty<string>());

    static JsonNode? Machine(string dir) => Core.JsonFile.Parse(Path.Combine(dir, "foundation.json"))["machine"];

    /// Why the shipped foundation (data/foundation) is not the one `config` would train for a world of `world`'s config,
    /// or null when it is (config, world and every file's SHA-256 checked): what LoadOrTrain decides before training.
    public static string? ShippedMismatch(WorldConfig world, FoundationConfig config) =>
        Mismatch(ShippedDir, config, MiniWorld.ConfigHash(world)) ?? VerifyHashes(ShippedDir);

    /// Why the folder cannot be reused, or null when it can.
    static string? Mismatch(string dir, FoundationConfig config, string worldHash)
    {
        var path = Path.Combine(dir, "foundation.json");
        if (!File.Exists(path)) return "no finished models";
        JsonNode? meta;
        try { meta = Core.JsonFile.Parse(path); }
        catch (InvalidDataException e) { return $"unreadable: {e.Message}"; }
        if (meta?["version"]?.ToString() != Version) return "trained by another code version";
        if (meta["worldHash"]?.ToString() != worldHash) return "world changed";
        if (meta["config"]?.ToJsonString() != JsonNode.Parse(config.ToJson())!.ToJsonString()) return "config changed";
        foreach (var f in Files)
            if (!File.Exists(Path.Combine(dir, f))) return $"{f} is missing";
        return null;
    }

    /// Held-out pairs for retrieval displays (val scenes with captions written from their object lists).
    public static ClipPairs ValPairs(WorldData world, MiniFoundation m) => ClipPairs.FromScenes(world, "val", m.Tokenizer, m.Config.TextLength);

    /// Held-out text (val conversations, packed) for perplexity.
    public static TextCorpus ValText(WorldData world, MiniFoundation m) =>
        TextCorpus.FromDatasets([LlavaDataset.Load(world.ValJson)], m.Tokenizer, m.Template);

}
