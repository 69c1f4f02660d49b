using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using OlaVlm.Data;
using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.Training;
using OlaVlm.World;
using static TorchSharp.torch;
using TheWorld = OlaVlm.World.World;

namespace OlaVlm.Foundation;

/// The two pre-trained models LLaVA-1.5 starts from, in miniature, with their tokenizer and figures.
public sealed record MiniFoundation(ClipModel Clip, LlamaForCausalLM Llm, WordTokenizer Tokenizer, ChatTemplate Template,
    ClipReport ClipReport, LlmReport LlmReport, FoundationConfig Config, string Dir, bool TrainedNow) : IDisposable
{
    public string ClipRunDir => Path.Combine(Dir, "clip", "run");
    public string LlmRunDir => Path.Combine(Dir, "llm", "run");
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
    public const string Version = "found-3"; // 2: WordTokenizer scheme 2 (atomic "(A)" choice tokens); 3: CLIP seeded before it is built
    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string CacheDir(WorldData world, FoundationConfig config) =>
        Core.Paths.OutDir("models", config.Hash(TheWorld.ConfigHash(world.Manifest.Config)));

    public static MiniFoundation LoadOrTrain(WorldData world, FoundationConfig config, Device? device = null, Action<string>? log = null,
        string? dir = null)
    {
        config.Validate();
        device ??= Core.Devices.Default;
        log ??= _ => { };
        string worldHash = TheWorld.ConfigHash(world.Manifest.Config);
        dir ??= CacheDir(world, config);
        var template = ChatTemplate.Miniature();
        var why = Mismatch(dir, config, worldHash);
        if (why is null)
        {
            log($"foundation models: reusing {dir}");
            return Load(dir, config, template, device);
        }
        log($"foundation models: training ({why}) into {dir}");
        return Train(world, config, worldHash, template, dir, device, log);
    }

    static MiniFoundation Train(WorldData world, FoundationConfig f, string worldHash, ChatTemplate template, string dir, Device device, Action<string> log)
    {
        Directory.CreateDirectory(dir);
        File.Delete(Path.Combine(dir, "foundation.json"));
        foreach (var sub in new[] { "clip", "llm" })
            if (Directory.Exists(Path.Combine(dir, sub))) Directory.Delete(Path.Combine(dir, sub), recursive: true);
        var tok = WorldTokenizer.Build(template);
        tok.Save(Path.Combine(dir, "tokenizer.json"));

        // Mini CLIP on pt captions; retrieval on val scenes.
        var sw = Stopwatch.StartNew();
        // Seed before building: TorchSharp seeds its default generator randomly in every process, so
        // initial weights drawn without a seed differ from run to run (found by the determinism check).
        manual_seed(f.Seed).Dispose();
        var clip = new ClipModel(f.ClipModelConfig(tok.VocabSize), device);
        ClipReport clipReport;
        using (var train = ClipPairs.FromCaptionData(LlavaDataset.Load(world.PtJson), tok, f.TextLength))
        using (var val = ClipPairs.FromScenes(world, "val", tok, f.TextLength))
        {
            log($"mini CLIP: {train.Count} training pairs, {val.Count} val pairs, {Params(clip)} parameters");
            MiniClip.Train(clip, train, f, tok.PadId, Path.Combine(dir, "clip", "run"), device);
            clipReport = MiniClip.Evaluate(clip, val, tok.PadId, device, sw.Elapsed.TotalSeconds);
        }
        log($"mini CLIP: {clipReport} ({clipReport.TrainSeconds:F0} s)");
        Model.Checkpoint.Save(clip, Path.Combine(dir, "clip", "model.safetensors"));
        File.WriteAllText(Path.Combine(dir, "clip", "config.json"), JsonSerializer.Serialize(clip.Config, Json));

        // Mini LLM on all pt + ift text; perplexity on val text.
        sw.Restart();
        var llmConfig = f.LlmModelConfig(tok.VocabSize) with { BosTokenId = tok.BosId, EosTokenId = tok.EosId };
        manual_seed(f.Seed).Dispose();
        var lm = new LlamaForCausalLM(llmConfig, device);
        var corpus = TextCorpus.FromDatasets([LlavaDataset.Load(world.PtJson), LlavaDataset.Load(world.IftJson)], tok, template);
        var valText = TextCorpus.FromDatasets([LlavaDataset.Load(world.ValJson)], tok, template);
        log($"mini LLM: {corpus.Tokens.Length:N0} training tokens from {corpus.Documents} conversations, {Params(lm)} parameters");
        MiniLlm.Train(lm, corpus, f, Path.Combine(dir, "llm", "run"), device);
        var llmReport = MiniLlm.Evaluate(lm, valText, f.LlmSeqLen, device, f.LlmValWindows, sw.Elapsed.TotalSeconds);
        log($"mini LLM: {llmReport} ({llmReport.TrainSeconds:F0} s)");
        Model.Checkpoint.Save(lm, Path.Combine(dir, "llm", "model.safetensors"));
        File.WriteAllText(Path.Combine(dir, "llm", "config.json"), llmConfig.ToHfJson().ToJsonString(Json));

        var meta = new JsonObject
        {
            ["version"] = Version,
            ["worldHash"] = worldHash,
            ["config"] = JsonNode.Parse(f.ToJson()),
            ["clip"] = JsonSerializer.SerializeToNode(clipReport, Json),
            ["llm"] = JsonSerializer.SerializeToNode(llmReport, Json),
        };
        var tmp = Path.Combine(dir, "foundation.json.tmp");
        File.WriteAllText(tmp, meta.ToJsonString(Json));
        File.Move(tmp, Path.Combine(dir, "foundation.json"), overwrite: true);
        return new MiniFoundation(clip, lm, tok, template, clipReport, llmReport, f, dir, true);
    }

    static MiniFoundation Load(string dir, FoundationConfig f, ChatTemplate template, Device device)
    {
        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "foundation.json")))!;
        var tok = WordTokenizer.Load(Path.Combine(dir, "tokenizer.json"));
        var clipPath = Path.Combine(dir, "clip", "config.json");
        var clipConfig = JsonSerializer.Deserialize<ClipConfig>(File.ReadAllText(clipPath), Json)
                         ?? throw new InvalidDataException($"{clipPath}: no CLIP config");
        var clip = new ClipModel(clipConfig, device);
        Model.Checkpoint.Load(clip, Path.Combine(dir, "clip", "model.safetensors"));
        var llmPath = Path.Combine(dir, "llm", "config.json");
        var llmConfig = LlamaConfig.FromHfJson(JsonNode.Parse(File.ReadAllText(llmPath))!, llmPath);
        var lm = new LlamaForCausalLM(llmConfig, device, initialize: false);
        Model.Checkpoint.Load(lm, Path.Combine(dir, "llm", "model.safetensors"));
        var clipReport = meta["clip"].Deserialize<ClipReport>(Json) ?? throw new InvalidDataException($"{dir}/foundation.json: no clip report");
        var llmReport = meta["llm"].Deserialize<LlmReport>(Json) ?? throw new InvalidDataException($"{dir}/foundation.json: no llm report");
        return new MiniFoundation(clip, lm, tok, template, clipReport, llmReport, f, dir, false);
    }

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
        foreach (var f in new[] { "tokenizer.json", "clip/model.safetensors", "clip/config.json", "llm/model.safetensors", "llm/config.json", "clip/run/metrics.jsonl", "llm/run/metrics.jsonl" })
            if (!File.Exists(Path.Combine(dir, f))) return $"{f} is missing";
        return null;
    }

    /// Held-out pairs for retrieval displays (val scenes with captions written from their object lists).
    public static ClipPairs ValPairs(WorldData world, MiniFoundation m) => ClipPairs.FromScenes(world, "val", m.Tokenizer, m.Config.TextLength);

    /// Held-out text (val conversations, packed) for perplexity.
    public static TextCorpus ValText(WorldData world, MiniFoundation m) =>
        TextCorpus.FromDatasets([LlavaDataset.Load(world.ValJson)], m.Tokenizer, m.Template);

    static string Params(nn.Module m) => $"{m.parameters().Sum(p => p.numel()):N0}";
}
