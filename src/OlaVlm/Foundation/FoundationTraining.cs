using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using OlaVlm.Data;
using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.Training;
using OlaVlm.World;
using static TorchSharp.torch;

using OlaVlm.Eval;

namespace OlaVlm.Foundation;

/// Trains a foundation from scratch into its folder: the mini CLIP on the world's captions, the mini LLM on its text
/// and then on scenes in words (the reasoning phase, scored by the text oracle), or the LLM taken over from a finished
/// foundation when only the CLIP's recipe differs. foundation.json is written last, so a half-written folder is never
/// taken for a finished one.
public static class FoundationTraining
{
    /// resume: go on from the checkpoints an interrupted training left in `dir` (the folder is keyed by code version,
    /// config and world, so they are this training's); false: start over.
    internal static MiniFoundation Train(WorldData world, FoundationConfig f, string worldHash, ChatTemplate template, string dir, Device device, Action<string> log,
        string? llmFrom = null, bool resume = true)
    {
        JsonNode? llmMeta = llmFrom is null ? null : CheckLlmSource(llmFrom, f, worldHash);
        Directory.CreateDirectory(dir);
        Core.TempFiles.Sweep(dir, log, depth: 3);
        File.Delete(Path.Combine(dir, "foundation.json"));
        foreach (var sub in new[] { "clip", "llm" })
            if (Directory.Exists(Path.Combine(dir, sub)) && (!resume || (sub == "llm" && llmMeta is not null)))
                Directory.Delete(Path.Combine(dir, sub), recursive: true);
        var tok = WorldTokenizer.Build(template);
        tok.Save(Path.Combine(dir, "tokenizer.json"));
        // Checked before the CLIP trains, so a refused takeover costs nothing.
        if (llmMeta is not null && File.ReadAllText(Path.Combine(llmFrom!, "tokenizer.json")) != File.ReadAllText(Path.Combine(dir, "tokenizer.json")))
            throw new InvalidDataException($"{llmFrom}/tokenizer.json differs from the tokenizer this code builds: its LLM cannot be taken over");

        var (clip, clipReport) = TrainClip(world, f, tok, Path.Combine(dir, "clip", "run"), device, log, resume);
        log($"mini CLIP: {clipReport} ({clipReport.TrainSeconds:F0} s)");
        MiniClip.Save(clip, Path.Combine(dir, "clip"));

        var (lm, llmReport, oracle) = llmMeta is not null ? TakeOverLlm(llmFrom!, llmMeta, dir, device, log) : TrainLlm(world, f, tok, template, dir, device, log, resume);

        var meta = new JsonObject
        {
            ["version"] = FoundationModels.Version,
            ["worldHash"] = worldHash,
            ["config"] = JsonNode.Parse(f.ToJson()),
            ["clip"] = JsonSerializer.SerializeToNode(clipReport, FoundationModels.Json),
            ["llm"] = JsonSerializer.SerializeToNode(llmReport, FoundationModels.Json),
            ["oracle"] = oracle is null ? null : JsonSerializer.SerializeToNode(oracle, FoundationModels.Json),
        };
        if (llmMeta is not null)
            meta["llmFrom"] = new JsonObject { ["version"] = llmMeta["version"]?.GetValue<string>(), ["sha256"] = llmMeta["sha256"]?.DeepClone() };
        meta["machine"] = Core.Reproducibility.Record();
        // Last, atomically, with every file's SHA-256: a reused cache is checked against them.
        Core.FileHash.WriteManifest(dir, "foundation.json", FoundationModels.FilesIn(dir), meta);
        return new MiniFoundation(clip, lm, tok, template, clipReport, llmReport, f, dir, true) { Oracle = oracle };
    }

    /// The LLM never sees the CLIP: take over the one trained for the same LLM knobs and world (checked by CheckLlmSource).
    static (LlamaForCausalLM, LlmReport, OracleReport?) TakeOverLlm(string llmFrom, JsonNode llmMeta, string dir, Device device, Action<string> log)
    {
        CopyTree(Path.Combine(llmFrom, "llm"), Path.Combine(dir, "llm"));
        var llmPath = Path.Combine(dir, "llm", "config.json");
        var lm = new LlamaForCausalLM(LlamaConfig.FromHfJson(Model.ConfigJson.Parse(llmPath), llmPath), device, initialize: false);
        Model.Checkpoint.Load(lm, Path.Combine(dir, "llm", "model.safetensors"));
        var report = llmMeta["llm"].Deserialize<LlmReport>(FoundationModels.Json) ?? throw new InvalidDataException($"{llmFrom}/foundation.json: no llm report");
        var oracle = llmMeta["oracle"]?.Deserialize<OracleReport>(FoundationModels.Json);
        log($"mini LLM: taken over from {llmFrom} ({llmMeta["version"]}; same LLM config, world and LLM code): {report}");
        return (lm, report, oracle);
    }

    /// The mini LLM from scratch: next-token prediction on all pt + ift text (perplexity on val text), then the
    /// reasoning phase on scenes in words with its curriculum, scored by the text oracle; saved under dir/llm.
    static (LlamaForCausalLM, LlmReport, OracleReport?) TrainLlm(WorldData world, FoundationConfig f, WordTokenizer tok, ChatTemplate template,
                                                                 string dir, Device device, Action<string> log, bool resume)
    {
        var sw = Stopwatch.StartNew();
        OracleReport? oracle = null;
        var llmConfig = f.LlmModelConfig(tok.VocabSize) with { BosTokenId = tok.BosId, EosTokenId = tok.EosId };
        manual_seed(f.Seed).Dispose();
        var lm = new LlamaForCausalLM(llmConfig, device);
        var corpus = TextCorpus.FromDatasets([LlavaDataset.Load(world.PtJson), LlavaDataset.Load(world.IftJson)], tok, template);
        var valText = TextCorpus.FromDatasets([LlavaDataset.Load(world.ValJson)], tok, template);
        log($"mini LLM: {corpus.Tokens.Length:N0} training tokens from {corpus.Documents} conversations, {Params(lm)} parameters");
        MiniLlm.Train(lm, corpus, f, Path.Combine(dir, "llm", "run"), device, resume);
        var llmReport = MiniLlm.Evaluate(lm, valText, f.LlmSeqLen, device, f.LlmValWindows, sw.Elapsed.TotalSeconds);
        log($"mini LLM: {llmReport} ({llmReport.TrainSeconds:F0} s)");

        // Reasoning about scenes in words, with the curriculum; the text oracle measures it.
        if (f.ReasoningSteps > 0)
        {
            sw.Restart();
            var qa = SceneQaData.FromWorld(world, f.SceneForm, "pt", "ift");
            log($"mini LLM reasoning: {f.ReasoningSteps} steps × {f.ReasoningBatch} scenes × {f.ReasoningTurns} questions, one-hop only for the first {f.ReasoningOneHopSteps}");
            MiniLlm.TrainReasoning(lm, qa, tok, template, f, Path.Combine(dir, "llm", "reasoning"), device, resume);
            double trainSeconds = sw.Elapsed.TotalSeconds;
            sw.Restart();
            var bench = CvBench.Load(world.BenchJsonl);
            if (f.OracleItems > 0) bench = bench.Take(f.OracleItems).ToList();
            var (score, _) = Eval.TextOracle.Evaluate(lm, tok, template, world, f.SceneForm, bench, device: device);
            oracle = new OracleReport(bench.Count, score.Items.Average(i => i.Correct ? 1.0 : 0.0), score.ByTask.ToDictionary(kv => kv.Key, kv => kv.Value.Accuracy), sw.Elapsed.TotalSeconds);
            log($"mini LLM reasoning: {oracle} ({trainSeconds:F0} s training)");
        }
        Model.Checkpoint.Save(lm, Path.Combine(dir, "llm", "model.safetensors"));
        File.WriteAllText(Path.Combine(dir, "llm", "config.json"), llmConfig.ToHfJson().ToJsonString(FoundationModels.Json));
        return (lm, llmReport, oracle);
    }

    /// The mini CLIP of config `f`, trained on the world's pt captions (with f.ClipHardNegatives hard negatives per
    /// image) with its curves in runDir, and its retrieval on the val scenes.
    public static (ClipModel Clip, ClipReport Report) TrainClip(WorldData world, FoundationConfig f, WordTokenizer tok, string runDir, Device device,
        Action<string>? log = null, bool resume = false)
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
        MiniClip.Train(clip, train, f, tok.PadId, runDir, device, resume);
        return (clip, MiniClip.Evaluate(clip, val, tok.PadId, device, sw.Elapsed.TotalSeconds));
    }

    /// The foundation.json of `src` after checking that its LLM is the one `f` would train: finished, an LLM-code
    /// version of today's, the same world, the same config but for the CLIP's knobs, its files' hashes verified.
    static JsonNode CheckLlmSource(string src, FoundationConfig f, string worldHash)
    {
        var path = Path.Combine(src, "foundation.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"llmFrom: {path} does not exist (not a finished foundation)", path);
        var meta = Core.JsonFile.Parse(path);
        string? why = null;
        var version = meta["version"]?.GetValue<string>();
        if (!FoundationModels.SameLlmCode.Contains(version)) why = $"its version {version} trained the LLM with other code (takes {string.Join(", ", FoundationModels.SameLlmCode)})";
        else if (meta["worldHash"]?.GetValue<string>() != worldHash) why = $"its world {meta["worldHash"]} is not {worldHash}";
        else
        {
            var theirs = meta["config"].Deserialize<FoundationConfig>(FoundationModels.Json) ?? throw new InvalidDataException($"{path}: no config");
            if (theirs.WithClipOf(f) != f) why = "its LLM knobs differ: " + theirs.WithClipOf(f).ToJson() + " vs " + f.ToJson();
        }
        why ??= meta["sha256"] is null ? null : FoundationModels.VerifyHashes(src);
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

    static string Params(nn.Module m) => $"{m.parameters().Sum(p => p.numel()):N0}";
}
