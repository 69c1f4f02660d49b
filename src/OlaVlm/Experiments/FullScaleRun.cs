using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using OlaVlm.Data;
using OlaVlm.Data.Layouts;
using OlaVlm.Eval;
using OlaVlm.Ola;
using OlaVlm.Stages;
using OlaVlm.Teachers;
using OlaVlm.Training;

namespace OlaVlm.Experiments;

/// What a full-scale run leaves: where, whether it stopped early (StopAfter) and where, the CV-Bench score, the
/// checkpoints (PtModel: the LLaVA folder after PT; Final: after IFT — a LLaVA folder, or a LoRA folder on top of PtModel).
public sealed record FullScaleResult(string Out, bool Stopped, string? StoppedAt, CvBenchScore? Score, string PtModel, string Final,
                                     TargetPlan? Targets, IReadOnlyList<StageResult> Stages);

/// OLA-VLM at full scale from released checkpoints to a CV-Bench score, one call:
///   PT   LLaVA-Pretrain, the LLM and tower frozen, the projector (and OLA-VLM's modules, with the three teachers'
///        embedding losses) trained → Out/pt/model, a LLaVA folder;
///   IFT  the 665K mix (or ALLaVA), images padded to squares, all of the LLM or LoRA adapters → Out/final;
///   eval CV-Bench with the reference's prompt and scoring → Out/cv-bench/.
/// Every stage checkpoints and resumes through the Trainer (Stage.Run): the same call after an interruption goes on
/// from the last checkpoint, skips finished stages and evaluates only unanswered items.
public static class FullScaleRun
{
    public static FullScaleResult Run(FullScaleConfig c, Action<string>? log = null, IProgressReporter? progress = null)
    {
        log ??= Console.WriteLine;
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(c.Paths.Out);
        using var parts = FullScaleParts.Load(c, log);
        string ptModel = Out(c, "pt", "model"), final = Out(c, "final");
        var stages = new List<StageResult>();

        using var pt = parts.Data(c.Paths.PtData, [LlavaLayout.Pretrain558K], pad: false, c, log);
        var ptCfg = ForData(c.Pretrain, StageKind.Pretrain, pt.Count, c, parts.Bf16);
        foreach (var line in FullScalePlan.For(parts, ptCfg, c).Lines()) log(line);
        var (targets, plan) = c.Ola ? parts.Targets(pt, c, Out(c, "targets"), log) : (null, null);
        try
        {
            if (Train(parts, ptCfg, pt, targets, Out(c, "pt", "run"), c, progress, stages) is string at)
                return new(c.Paths.Out, true, at, null, ptModel, final, plan, stages);
        }
        finally { if (targets is not null) foreach (var t in targets.Values) t.Dispose(); }
        if (!File.Exists(Path.Combine(ptModel, OlaPretrained.WeightsFile))) OlaPretrained.Save(parts.Model, ptModel, c.Paths.Vision);

        using var ift = parts.Data(c.Paths.IftData, [LlavaLayout.Mix665K, LlavaLayout.AllavaCaptionLaion, LlavaLayout.AllavaCaptionVflan], pad: true, c, log);
        var iftBase = c.Lora ? c.Finetune with { Lora = c.LoraConfig with { BaseModelNameOrPath = ptModel } } : c.Finetune;
        var iftCfg = ForData(iftBase, StageKind.Finetune, ift.Count, c, parts.Bf16);
        if (Train(parts, iftCfg, ift, null, Out(c, "ift", "run"), c, progress, stages) is string at2)
            return new(c.Paths.Out, true, at2, null, ptModel, final, plan, stages);
        SaveFinal(parts, iftCfg, final, c);

        var score = Evaluate(parts, c, progress);
        WriteSummary(c, score, plan, ptCfg, iftCfg, final, clock.Elapsed.TotalSeconds);
        log($"CV-Bench overall {score.Overall:F4} (2D {score.Accuracy2D:F4}, 3D {score.Accuracy3D:F4}) over {score.Items.Count} items; " +
            $"final checkpoint {final}; {clock.Elapsed.TotalMinutes:F1} min");
        return new(c.Paths.Out, false, null, score, ptModel, final, plan, stages);
    }

    /// Scores a trained LLaVA / OLA-VLM folder (this library's, or one the reference's DeepSpeed scripts wrote in the
    /// same layout) on CV-Bench without training: the tokenizer from Paths.Llm, the tower from Paths.Vision.
    public static CvBenchScore EvaluateFolder(FullScaleConfig c, string folder, Action<string>? log = null, IProgressReporter? progress = null)
    {
        log ??= Console.WriteLine;
        var device = c.Device ?? Core.Devices.Default;
        bool bf16 = c.Bf16 ?? device.type == TorchSharp.DeviceType.CUDA;
        var (tok, template) = Text.PretrainedTokenizer.Load(c.Paths.Llm);
        using var model = OlaPretrained.Load(folder, c.Paths.Vision, tok.ImageId, device, bf16 ? TorchSharp.torch.ScalarType.BFloat16 : null, c.ConvNext, c.OlaBasis);
        log($"evaluating {folder} ({(model.Heads is null ? "LLaVA-1.5" : "OLA-VLM")}) on CV-Bench");
        var processor = TowerImageProcessor.For(model.Llava.Config, c.Paths.Vision, padToSquare: true);
        var score = CvBenchRun.Run(model, tok, template, processor, CvBenchRun.Load(c.Paths.CvBench, c.BenchLimit), Out(c, "cv-bench"), device,
                                   c.MaxNewTokens, c.EvalBatch, progress: progress);
        log($"CV-Bench overall {score.Overall:F4} (2D {score.Accuracy2D:F4}, 3D {score.Accuracy3D:F4}) over {score.Items.Count} items");
        return score;
    }

    static string Out(FullScaleConfig c, params string[] parts) => Path.Combine([c.Paths.Out, .. parts]);

    /// The stage's knobs for this run: one epoch over `records` at the stage's global batch, the run's seed, bf16
    /// weights with fp32 masters when the run is bf16.
    public static StageConfig ForData(StageConfig basis, StageKind kind, int records, FullScaleConfig c, bool bf16)
    {
        if (basis.BatchSize > records)
            throw new ArgumentException($"full-scale {kind}: micro-batch {basis.BatchSize} is larger than the {records} records");
        return basis with
        {
            Kind = kind, Seed = c.Seed, Steps = Math.Max(1, records / basis.EffectiveBatch),
            Bf16Weights = bf16, Fp32MasterWeights = bf16,
        };
    }

    /// Trains (or resumes, or finds finished) one stage; returns where it stopped when StopAfter cut it short.
    static string? Train(FullScaleParts parts, StageConfig sc, IStageData data, IReadOnlyDictionary<OlaTask, ITargetSource>? targets,
                         string runDir, FullScaleConfig c, IProgressReporter? progress, List<StageResult> stages)
    {
        int? stop = c.StopAfter is { } s && s.Stage == sc.Kind ? s.Steps : null;
        stages.Add(Stage.Run(parts.Model, sc, data, targets, runDir, stop, progress, $"{sc.Kind} ({sc.Steps} steps × {sc.EffectiveBatch})"));
        int done = RunCheckpoint.Latest(runDir) is string ck ? RunCheckpoint.ReadState(ck).Step : 0;
        return done < sc.Steps ? $"{sc.Kind} step {done} of {sc.Steps} ({runDir})" : null;
    }

    /// After IFT: a LLaVA folder of the whole model, or with LoRA the adapters in PEFT's layout, the projector in
    /// non_lora_trainables.bin and the LLaVA config.json (what LLaVA's builder reads with model_base = PtModel).
    static void SaveFinal(FullScaleParts parts, StageConfig ift, string final, FullScaleConfig c)
    {
        if (ift.Lora is not { } lora) { OlaPretrained.Save(parts.Model, final, c.Paths.Vision); return; }
        LoraCheckpoint.Save(parts.Model.Llava, lora, final);
        File.WriteAllText(Path.Combine(final, "config.json"),
            OlaPretrained.ConfigJson(parts.Model, c.Paths.Vision).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    static CvBenchScore Evaluate(FullScaleParts parts, FullScaleConfig c, IProgressReporter? progress)
    {
        // LLaVA's builder merges LoRA adapters into the base weights before evaluating (merge_and_unload): the same
        // numbers, at the base model's cost. The adapters were saved apart first (SaveFinal).
        if (c.Lora) Training.Lora.Merge(parts.Model.Llava);
        var processor = TowerImageProcessor.For(parts.Model.Llava.Config, c.Paths.Vision, padToSquare: true);
        var items = CvBenchRun.Load(c.Paths.CvBench, c.BenchLimit);
        return CvBenchRun.Run(parts.Model, parts.Tokenizer, parts.Template, processor, items, Out(c, "cv-bench"), parts.Device,
                              c.MaxNewTokens, c.EvalBatch, progress: progress);
    }

    static void WriteSummary(FullScaleConfig c, CvBenchScore score, TargetPlan? plan, StageConfig pt, StageConfig ift, string final, double seconds)
    {
        var j = new JsonObject
        {
            ["arm"] = c.Ola ? "OLA-VLM" : "LLaVA-1.5", ["ift"] = c.Lora ? "LoRA" : "full", ["llm"] = c.Paths.Llm, ["vision"] = c.Paths.Vision,
            ["pt_steps"] = pt.Steps, ["pt_batch"] = pt.EffectiveBatch, ["ift_steps"] = ift.Steps, ["ift_batch"] = ift.EffectiveBatch,
            ["targets"] = plan?.Why, ["final"] = final, ["cv_bench"] = CvBenchRun.ScoreJson(score), ["seconds"] = Math.Round(seconds, 1),
        };
        File.WriteAllText(Out(c, "summary.json"), j.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
