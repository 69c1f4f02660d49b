using System.Text.Json.Nodes;
using OlaVlm.Data;
using OlaVlm.Foundation;
using OlaVlm.Ola;
using OlaVlm.Stages;
using OlaVlm.Teachers;
using OlaVlm.Text;
using OlaVlm.Training;
using OlaVlm.World;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// The miniature's real PT step of one arm — Stage.Prepare's freezing and AdamW groups (projector, plus task
/// tokens, predictors and logit scales for OLA-VLM; CLIP and LLM frozen), Stage.Loss's forward (CLIP → projector
/// → [task tokens] → Llama, next-token loss + the embedding loss) — on one fixed batch of the world's PT data.
/// The foundation models and teachers are random-init at the preset's sizes: speed does not depend on training,
/// and nothing here needs a trained foundation. The teachers run once, for this batch's targets.
/// Sizes come from the configs passed (defaults: the main job's FoundationConfig and ExperimentConfig.Full on
/// the quick world), so the figures follow the miniature as its presets change.
public sealed class PtStepWorkload : IPeerWorkload
{
    readonly OlaVlmModel _model;
    readonly StageConfig _stage;
    readonly ParamGroups _groups;
    readonly AdamW _opt;
    readonly StageBatch _batch;
    readonly IReadOnlyDictionary<OlaTask, ITargetSource>? _targets;
    readonly bool _emb;
    readonly string _description;

    public string Name { get; }
    public string Description => _description;
    public OlaVlmModel Model => _model;

    PtStepWorkload(string name, OlaVlmModel model, StageConfig stage, StageBatch batch, IReadOnlyDictionary<OlaTask, ITargetSource>? targets)
    {
        (Name, _model, _stage, _batch, _targets) = (name, model, stage, batch, targets);
        _emb = Stage.EmbeddingLossOn(model, stage);
        _groups = Stage.Prepare(model, stage);
        _opt = _groups.CreateAdamW(stage.ToTrainConfig(outputDir: ""));
        model.train();
        var heads = model.Heads is null ? "" : $", {model.Heads.Config.Tasks.Count} tasks × N={model.Heads.Config.NumTaskTokens} task tokens, " +
            $"{model.Heads.Config.Tasks.Sum(t => model.Heads.Layers(t).Count)} predictors";
        var c = model.Llava.Config;
        _description = $"PT step, {(model.Heads is null ? "LLaVA-1.5 baseline" : "OLA-VLM")} arm: batch {batch.Samples.Count} " +
            $"({batch.HasImage.Count(h => h)} with an image), CLIP {c.Vision.NumLayers}×{c.Vision.HiddenSize} ({c.Vision.NumPatches} patches), " +
            $"LLM {c.Text.NumLayers}×{c.Text.HiddenSize}{heads}; trains {_groups.Groups.Sum(g => g.Elements):N0} of " +
            $"{model.parameters().Sum(p => p.numel()):N0} parameters";
    }

    /// ola: the OLA-VLM arm (else the baseline). experiment: stage and OLA settings (default ExperimentConfig.Full);
    /// foundation: CLIP and LLM sizes (default: FoundationConfig's defaults, the main job's); world: where the batch
    /// comes from (default WorldConfig.Quick, built once under out/).
    public static PtStepWorkload Create(bool ola, ExperimentConfig? experiment = null, FoundationConfig? foundation = null,
                                        WorldConfig? world = null, Device? device = null, long seed = 0, Action<string>? log = null)
    {
        device ??= Core.Devices.Default;
        experiment ??= ExperimentConfig.Full;
        foundation ??= new FoundationConfig();
        var w = OlaVlm.World.MiniWorld.Build(world ?? WorldConfig.Quick, log: log);
        var template = ChatTemplate.Miniature();
        var tok = WorldTokenizer.Build(template);
        var stage = experiment.Pretrain with { Kind = StageKind.Pretrain, Seed = seed };

        using var data = new ConversationData(LlavaDataset.Load(w.PtJson), tok, template);
        var batch = new ConversationStageData(data, tok.ImageId).Batch(seed, 0, stage.BatchSize, device);   // pixels: a new tensor

        // OLA-VLM's targets for this batch, from random-init mini teachers run once (the baseline needs none).
        Dictionary<OlaTask, ITargetSource>? targets = null;
        if (ola)
        {
            manual_seed(seed).Dispose();
            var teachers = WorldTeachers.Configs(data.Images.Size).Select(c => (ITeacher)MiniTeacher.Create(c, device)).ToList();
            try
            {
                targets = WorldTeachers.OnTheFly(teachers, data.Images)
                    .ToDictionary(kv => kv.Key, kv => (ITargetSource)FixedTargets.Compute(kv.Value, batch.ImageKeys, device));
            }
            finally { foreach (var t in teachers) t.Dispose(); }
        }

        using var vision = new Model.ClipVisionModel(foundation.Vision, device);
        using var llm = new Model.LlamaForCausalLM(foundation.LlmModelConfig(tok.VocabSize), device);
        var parts = new FoundationParts(vision, llm, tok, template);
        var llava = parts.NewLlava(seed, device);
        manual_seed(seed + 1).Dispose();
        var model = OlaVlmModel.Create(llava, targets is null ? null : experiment.Ola.ForTeachers(targets));
        return new PtStepWorkload(ola ? "pt-ola" : "pt-baseline", model, stage, batch, targets);
    }

    public void Export(string dir)
    {
        var llava = _model.Llava;
        var spec = new JsonObject
        {
            ["workload"] = Name, ["dtype"] = "float32",
            ["vision"] = PeerExport.Vision(llava.Config.Vision, llava.VisionTower.SelectLayer),
            ["projector"] = new JsonObject { ["in"] = llava.Config.Vision.HiddenSize, ["out"] = llava.Config.Text.HiddenSize },
            ["llm"] = PeerExport.Llm(llava.Config.Text), ["image_token_id"] = llava.Config.ImageTokenId,
            ["ola"] = _model.Heads is null ? null : PeerExport.Ola(_model.Heads),
            ["samples"] = PeerExport.Samples(_batch.Samples),
            ["train"] = PeerExport.Train(_groups, _stage.ToTrainConfig(outputDir: "")),
        };
        var tensors = new Dictionary<string, Tensor>();
        if (_batch.Pixels is not null) tensors["pixels"] = _batch.Pixels;
        var device = llava.LanguageModel.Model.EmbedTokens.weight!.device;
        if (_emb && _targets is not null)
            foreach (var (task, t) in TeacherTargets.ForBatch(_targets, _batch.HasImage, _batch.ImageKeys, device))
                tensors[$"target.{task.Name()}"] = t;
        PeerExport.Write(dir, PeerExport.Parameters(_model), tensors, spec);
    }

    public StepResult Step() => Run(null);

    /// One step timed by phase (milliseconds): images (CLIP + projector, computed once more on their own),
    /// the whole forward with both losses, backward, clipping + AdamW. For OlaCheck ptstep.
    public (double Images, double Forward, double Backward, double Update) StepPhases()
    {
        var laps = new List<double>();
        Run(laps);
        return (laps[0], laps[1], laps[2], laps[3]);
    }

    /// The step; `laps` (when given) receives the milliseconds of each phase of StepPhases.
    StepResult Run(List<double>? laps)
    {
        using var scope = NewDisposeScope();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        void Lap() { if (laps is null) return; laps.Add(sw.Elapsed.TotalMilliseconds); sw.Restart(); }
        _opt.zero_grad();
        if (laps is not null && _batch.Pixels is not null) _model.Llava.EncodeImages(_batch.Pixels).sum().ToDouble();
        Lap();
        var lp = Stage.Loss(_model, _batch, _targets, _emb);
        double loss = lp.Loss.ToDouble();
        Lap();
        lp.Loss.backward();
        Lap();
        double norm = nn.utils.clip_grad_norm_(_groups.Trainable, _stage.MaxGradNorm > 0 ? _stage.MaxGradNorm : double.PositiveInfinity);
        _opt.step();
        Lap();
        return new StepResult(loss, norm);
    }

    public void Dispose()
    {
        _opt.Dispose();
        _model.Dispose();
        _batch.Pixels?.Dispose();
        if (_targets is not null) foreach (var t in _targets.Values) t.Dispose();
    }
}
