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

/// The two pre-trained models LLaVA-1.5 starts from, in miniature, with their tokenizer and figures.
public sealed record MiniFoundation(ClipModel Clip, LlamaForCausalLM Llm, WordTokenizer Tokenizer, ChatTemplate Template,
    ClipReport ClipReport, LlmReport LlmReport, FoundationConfig Config, string Dir, bool TrainedNow) : IDisposable
{
    public string ClipRunDir => Path.Combine(Dir, "clip", "run");
    public string LlmRunDir => Path.Combine(Dir, "llm", "run");
    public string ReasoningRunDir => Path.Combine(Dir, "llm", "reasoning");
    /// The text oracle's score on the benchmark when the LLM was trained (null without a reasoning phase).
    public OracleReport? Oracle { get; init; }
    public IReadOnlyList<IReadOnlyDictionary<string, double>> ReasoningCurve =>
        Directory.Exists(ReasoningRunDir) ? MetricsLog.Read(ReasoningRunDir) : [];
    /// Training curves (Trainer metrics rows: step, loss, lr_*, grad_norm, …), also when loaded from cache.
    public IReadOnlyList<IReadOnlyDictionary<string, double>> ClipCurve => MetricsLog.Read(ClipRunDir);
    public IReadOnlyList<IReadOnlyDictionary<string, double>> LlmCurve => MetricsLog.Read(LlmRunDir);
    public string ClipWeights => Path.Combine(Dir, "clip", "model.safetensors");
    public string LlmWeights => Path.Combine(Dir, "llm", "model.safetensors");

    /// The vision tower for LLaVA (copy of the CLIP's, select layer −2).
    public ClipVisionModel VisionTower(Device? device = null) => MiniClip.VisionTower(Clip, device);

    public void Dispose() { Clip.Dispose(); Llm.Dispose(); }
}

/// Trains the mini CLIP and mini LLM once per (world, FoundationConfig) and reuses them afterwards.
/// Cache folder out/models/<hash>/: clip/{model.safetensors, config.json, run/metrics.*},
/// llm/{model.safetensors, config.json (HF LlamaConfig keys), run/metrics.*}, tokenizer.json and
/// foundation.json (config, world hash, figures), which is written last so a half-written folder is
/// never taken for a finished one.
public static class FoundationModels
{
    /// Bump when training code changes what the same config produces.
    public const string Version = "found-10"; // 2: WordTokenizer scheme 2 (atomic "(A)" choice tokens); 3: CLIP seeded before it is built; 4: reasoning phase; 5: object tokens; 6: Count tally walk, Distance candidates in choice order; 7 (not shipped): tally in words; 8: Count walks the choices to its letter; 9: CLIP hard negatives (LLM code unchanged); 10: CLIP patch heads (LLM code unchanged)
    /// Versions whose LLM training code is today's: an LLM trained by one of them, for the same LLM knobs and
    /// world, is the LLM this code would train (what `llmFrom` may take over).
    static readonly string[] SameLlmCode = ["found-8", "found-9", "found-10"];
    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string CacheDir(WorldData world, FoundationConfig config) =>
        Core.Paths.OutDir("models", config.Hash(MiniWorld.ConfigHash(world.Manifest.Config)));

    /// The committed foundations of the default profile.
    public static string ShippedDir => Path.Combine(Core.Paths.Data, "foundation");

    /// Files a finished foundation folder holds (all hashed in foundation.json when shipped).
    static readonly string[] Files =
    [
        "tokenizer.json", "clip/model.safetensors", "clip/config.json", "clip/run/metrics.jsonl",
        "llm/model.safetensors", "llm/config.json", "llm/run/metrics.jsonl",
    ];

    /// Loads the models for this world and config: from out/models/<hash> when trained before, else from
    /// the shipped data/foundation when it matches, else trains them (retrain: always train).
    /// llmFrom: a finished foundation folder whose LLM to take over instead of training it again, when only the CLIP's
    /// recipe differs (same LLM knobs, world and LLM code; checked, else an error saying what differs).
    public static MiniFoundation LoadOrTrain(WorldData world, FoundationConfig config, Device? device = null, Action<string>? log = null,
        string? dir = null, bool retrain = false, string? llmFrom = null)
    {
        config.Validate();
        device ??= Core.Devices.Default;
        log ??= _ => { };
        string worldHash = MiniWorld.ConfigHash(world.Manifest.Config);
        dir ??= CacheDir(world, config);
        var template = ChatTemplate.Miniature();
        var why = retrain ? "retraining was asked for" : Mismatch(dir, config, worldHash);
        if (why is null)
        {
            log($"foundation models: reusing {dir}");
            return Load(dir, config, template, device);
        }
        // The shipped foundations (data/foundation, made by environment/pretrain-foundations.sh): used as they
        // are when they were trained for this config and world, after their files' SHA-256 are verified.
        if (!retrain && Directory.Exists(ShippedDir))
        {
            var shippedWhy = Mismatch(ShippedDir, config, worldHash) ?? VerifyHashes(ShippedDir);
            if (shippedWhy is null)
            {
                log($"foundation models: shipped {ShippedDir} (config, world and SHA-256 of every file verified)");
                return Load(ShippedDir, config, template, device);
            }
            log($"foundation models: not using shipped {ShippedDir}: {shippedWhy}");
        }
        log($"foundation models: training ({why}) into {dir}");
        return Train(world, config, worldHash, template, dir, device, log, llmFrom);
    }

    static MiniFoundation Train(WorldData world, FoundationConfig f, string worldHash, ChatTemplate template, string dir, Device device, Action<string> log,
        string? llmFrom = null)
    {
        JsonNode? llmMeta = llmFrom is null ? null : CheckLlmSource(llmFrom, f, worldHash);
        Directory.CreateDirectory(dir);
        File.Delete(Path.Combine(dir, "foundation.json"));
        foreach (var sub in new[] { "clip", "llm" })
            if (Directory.Exists(Path.Combine(dir, sub))) Directory.Delete(Path.Combine(dir, sub), recursive: true);
        var tok = WorldTokenizer.Build(template);
        tok.Save(Path.Combine(dir, "tokenizer.json"));
        // Checked before the CLIP trains, so a refused takeover costs nothing.
        if (llmMeta is not null && File.ReadAllText(Path.Combine(llmFrom!, "tokenizer.json")) != File.ReadAllText(Path.Combine(dir, "tokenizer.json")))
            throw new InvalidDataException($"{llmFrom}/tokenizer.json differs from the tokenizer this code builds: its LLM cannot be taken over");

        var (clip, clipReport) = TrainClip(world, f, tok, Path.Combine(dir, "clip", "run"), device, log);
        log($"mini CLIP: {clipReport} ({clipReport.TrainSeconds:F0} s)");
        MiniClip.Save(clip, Path.Combine(dir, "clip"));

        LlamaForCausalLM lm;
        LlmReport llmReport;
        OracleReport? oracle = null;
        if (llmMeta is not null)
        {
            // The LLM never sees the CLIP: take over the one trained for the same LLM knobs and world.
            CopyTree(Path.Combine(llmFrom!, "llm"), Path.Combine(dir, "llm"));
            var llmPath = Path.Combine(dir, "llm", "config.json");
            lm = new LlamaForCausalLM(LlamaConfig.FromHfJson(JsonNode.Parse(File.ReadAllText(llmPath))!, llmPath), device, initialize: false);
            Model.Checkpoint.Load(lm, Path.Combine(dir, "llm", "model.safetensors"));
            llmReport = llmMeta["llm"].Deserialize<LlmReport>(Json) ?? throw new InvalidDataException($"{llmFrom}/foundation.json: no llm report");
            oracle = llmMeta["oracle"]?.Deserialize<OracleReport>(Json);
            log($"mini LLM: taken over from {llmFrom} ({llmMeta["version"]}; same LLM config, world and LLM code): {llmReport}");
        }
        else
        {
            // Mini LLM on all pt + ift text; perplexity on val text.
            var sw = Stopwatch.StartNew();
            var llmConfig = f.LlmModelConfig(tok.VocabSize) with { BosTokenId = tok.BosId, EosTokenId = tok.EosId };
            manual_seed(f.Seed).Dispose();
            lm = new LlamaForCausalLM(llmConfig, device);
            var corpus = TextCorpus.FromDatasets([LlavaDataset.Load(world.PtJson), LlavaDataset.Load(world.IftJson)], tok, template);
            var valText = TextCorpus.FromDatasets([LlavaDataset.Load(world.ValJson)], tok, template);
            log($"mini LLM: {corpus.Tokens.Length:N0} training tokens from {corpus.Documents} conversations, {Params(lm)} parameters");
            MiniLlm.Train(lm, corpus, f, Path.Combine(dir, "llm", "run"), device);
            llmReport = MiniLlm.Evaluate(lm, valText, f.LlmSeqLen, device, f.LlmValWindows, sw.Elapsed.TotalSeconds);
            log($"mini LLM: {llmReport} ({llmReport.TrainSeconds:F0} s)");

            // Reasoning about scenes in words, with the curriculum (issue 11); the text oracle measures it.
            if (f.ReasoningSteps > 0)
            {
                sw.Restart();
                var qa = SceneQaData.FromWorld(world, f.SceneForm, "pt", "ift");
                log($"mini LLM reasoning: {f.ReasoningSteps} steps × {f.ReasoningBatch} scenes × {f.ReasoningTurns} questions, one-hop only for the first {f.ReasoningOneHopSteps}");
                MiniLlm.TrainReasoning(lm, qa, tok, template, f, Path.Combine(dir, "llm", "reasoning"), device);
                double trainSeconds = sw.Elapsed.TotalSeconds;
                sw.Restart();
                var bench = CvBench.Load(world.BenchJsonl);
                if (f.OracleItems > 0) bench = bench.Take(f.OracleItems).ToList();
                var (score, _) = Eval.TextOracle.Evaluate(lm, tok, template, world, f.SceneForm, bench, device: device);
                oracle = new OracleReport(bench.Count, score.Items.Average(i => i.Correct ? 1.0 : 0.0), score.ByTask.ToDictionary(kv => kv.Key, kv => kv.Value.Accuracy), sw.Elapsed.TotalSeconds);
                log($"mini LLM reasoning: {oracle} ({trainSeconds:F0} s training)");
            }
            Model.Checkpoint.Save(lm, Path.Combine(dir, "llm", "model.safetensors"));
            File.WriteAllText(Path.Combine(dir, "llm", "config.json"), llmConfig.ToHfJson().ToJsonString(Json));
        }

        var meta = new JsonObject
        {
            ["version"] = Version,
            ["worldHash"] = worldHash,
            ["config"] = JsonNode.Parse(f.ToJson()),
            ["clip"] = JsonSerializer.SerializeToNode(clipReport, Json),
            ["llm"] = JsonSerializer.SerializeToNode(llmReport, Json),
            ["oracle"] = oracle is null ? null : JsonSerializer.SerializeToNode(oracle, Json),
        };
        if (llmMeta is not null)
            meta["llmFrom"] = new JsonObject { ["version"] = llmMeta["version"]?.GetValue<string>(), ["sha256"] = llmMeta["sha256"]?.DeepClone() };
        var tmp = Path.Combine(dir, "foundation.json.tmp");
        File.WriteAllText(tmp, meta.ToJsonString(Json));
        File.Move(tmp, Path.Combine(dir, "foundation.json"), overwrite: true);
        return new MiniFoundation(clip, lm, tok, template, clipReport, llmReport, f, dir, true) { Oracle = oracle };
    }

    static MiniFoundation Load(string dir, FoundationConfig f, ChatTemplate template, Device device)
    {
        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "foundation.json")))!;
        var tok = WordTokenizer.Load(Path.Combine(dir, "tokenizer.json"));
        var clip = MiniClip.Load(Path.Combine(dir, "clip"), device);
        var llmPath = Path.Combine(dir, "llm", "config.json");
        var llmConfig = LlamaConfig.FromHfJson(JsonNode.Parse(File.ReadAllText(llmPath))!, llmPath);
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
        var hashes = new JsonObject();
        foreach (var f in files)
        {
            var to = Path.Combine(dest, f);
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(Path.Combine(m.Dir, f), to);
            hashes[f] = Sha256(to);
        }
        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(m.Dir, "foundation.json")))!.AsObject();
        meta["sha256"] = hashes;
        File.WriteAllText(Path.Combine(dest, "foundation.json"), meta.ToJsonString(Json));
        return dest;
    }

    /// Why a shipped folder's files do not match the SHA-256 its foundation.json lists, or null when they all do.
    public static string? VerifyHashes(string dir) => Core.FileHash.VerifyManifest(dir, "foundation.json");

    static string Sha256(string path) => Core.FileHash.Sha256(path);

    /// Why the folder cannot be reused, or null when it can.
    static string? Mismatch(string dir, FoundationConfig config, string worldHash)
    {
        var path = Path.Combine(dir, "foundation.json");
        if (!File.Exists(path)) return "no finished models";
        JsonNode? meta;
        try { meta = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { return $"unreadable {path}: {e.Message}"; }
        if (meta?["version"]?.GetValue<string>() != Version) return "trained by another code version";
        if (meta["worldHash"]?.GetValue<string>() != worldHash) return "world changed";
        if (meta["config"]?.ToJsonString() != JsonNode.Parse(config.ToJson())!.ToJsonString()) return "config changed";
        foreach (var f in Files)
            if (!File.Exists(Path.Combine(dir, f))) return $"{f} is missing";
        return null;
    }

    /// The mini CLIP of config `f`, trained on the world's pt captions (with f.ClipHardNegatives hard negatives per
    /// image) with its curves in runDir, and its retrieval on the val scenes.
    public static (ClipModel Clip, ClipReport Report) TrainClip(WorldData world, FoundationConfig f, WordTokenizer tok, string runDir, Device device, Action<string>? log = null)
    {
        var sw = Stopwatch.StartNew();
        // Seed before building: TorchSharp seeds its default generator randomly in every process, so
        // initial weights drawn without a seed differ from run to run (found by the determinism check).
        manual_seed(f.Seed).Dispose();
        var clip = new ClipModel(f.ClipModelConfig(tok.VocabSize), device);
        using var train = ClipPairs.FromCaptionData(LlavaDataset.Load(world.PtJson), tok, f.TextLength);
        using var val = ClipPairs.FromScenes(world, "val", tok, f.TextLength);
        var ptScenes = world.Scenes("pt");   // objects.json read once for both
        if (f.ClipHardNegatives > 0)
            train.WithHardNegatives(ptScenes, world.Manifest.Config.ImageSize, tok, f.TextLength, f.ClipNegativePool, (int)f.Seed);
        if (f.ClipSegWeight > 0 || f.ClipCentreWeight > 0)
            train.WithPatchTargets(world, ptScenes, f.Vision.PatchSize);
        log?.Invoke($"mini CLIP: {train.Count} training pairs, {val.Count} val pairs, {Params(clip)} parameters" +
            (f.ClipHardNegatives > 0 ? $", {f.ClipHardNegatives} hard negative(s) per image from a pool of {f.ClipNegativePool}" : "") +
            (train.Patches is null ? "" : $", patch heads (seg ×{f.ClipSegWeight}, centre ×{f.ClipCentreWeight})"));
        MiniClip.Train(clip, train, f, tok.PadId, runDir, device);
        return (clip, MiniClip.Evaluate(clip, val, tok.PadId, device, sw.Elapsed.TotalSeconds));
    }

    /// The foundation.json of `src` after checking that its LLM is the one `f` would train: finished, an LLM-code
    /// version of today's, the same world, the same config but for the CLIP's knobs, its files' hashes verified.
    static JsonNode CheckLlmSource(string src, FoundationConfig f, string worldHash)
    {
        var path = Path.Combine(src, "foundation.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"llmFrom: {path} does not exist (not a finished foundation)", path);
        var meta = JsonNode.Parse(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path} is empty");
        string? why = null;
        var version = meta["version"]?.GetValue<string>();
        if (!SameLlmCode.Contains(version)) why = $"its version {version} trained the LLM with other code (takes {string.Join(", ", SameLlmCode)})";
        else if (meta["worldHash"]?.GetValue<string>() != worldHash) why = $"its world {meta["worldHash"]} is not {worldHash}";
        else
        {
            var theirs = meta["config"].Deserialize<FoundationConfig>(Json) ?? throw new InvalidDataException($"{path}: no config");
            if (theirs.WithClipOf(f) != f) why = "its LLM knobs differ: " + theirs.WithClipOf(f).ToJson() + " vs " + f.ToJson();
        }
        why ??= meta["sha256"] is null ? null : VerifyHashes(src);
        return why is null ? meta : throw new InvalidDataException($"llmFrom {src}: cannot take its LLM over: {why}");
    }

    static void CopyTree(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(from, file);
            if (rel.Split(Path.DirectorySeparatorChar).Any(p => p.StartsWith("checkpoint"))) continue;   // optimizer state: not part of a foundation
            var dest = Path.Combine(to, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest, overwrite: true);
        }
    }

    /// Held-out pairs for retrieval displays (val scenes with captions written from their object lists).
    public static ClipPairs ValPairs(WorldData world, MiniFoundation m) => ClipPairs.FromScenes(world, "val", m.Tokenizer, m.Config.TextLength);

    /// Held-out text (val conversations, packed) for perplexity.
    public static TextCorpus ValText(WorldData world, MiniFoundation m) =>
        TextCorpus.FromDatasets([LlavaDataset.Load(world.ValJson)], m.Tokenizer, m.Template);

    static string Params(nn.Module m) => $"{m.parameters().Sum(p => p.numel()):N0}";
}
