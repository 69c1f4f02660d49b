using OlaVlm.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Ola;

/// One predictor's contribution, for logging: raw smooth-L1 and InfoNCE, and λ·(sl1 + w_c·nce).
public sealed record EmbeddingLossPart(OlaTask Task, int Layer, Tensor SmoothL1, Tensor InfoNce, Tensor Weighted);

/// Result of OlaHeads.Forward. Loss: the summed embedding loss (a float32 scalar; exactly 0 when no
/// targets are given or no sample has an image). Predictions[(task, layer)]: [B, NumTargetTokens, TargetDim].
public sealed record OlaHeadsOutput(
    Tensor Loss,
    IReadOnlyList<EmbeddingLossPart> Parts,
    IReadOnlyDictionary<(OlaTask Task, int Layer), Tensor> Predictions)
{
    /// Per-task totals (summed over layers) as numbers, e.g. {"depth": .., "depth/L8/sl1": ..} for a log line.
    public Dictionary<string, double> ToLog()
    {
        var log = new Dictionary<string, double> { ["emb"] = Loss.ToDouble() };
        foreach (var g in Parts.GroupBy(p => p.Task))
            log[g.Key.Name()] = g.Sum(p => p.Weighted.ToDouble());
        foreach (var p in Parts)
        {
            log[$"{p.Task.Name()}/L{p.Layer}/sl1"] = p.SmoothL1.ToDouble();
            log[$"{p.Task.Name()}/L{p.Layer}/nce"] = p.InfoNce.ToDouble();
        }
        return log;
    }
}

/// Everything OLA-VLM adds to a LLaVA model: the task tokens, one EmbeddingPredictor per (task, layer),
/// and one learnable logit scale per task (shared by that task's layers, as the reference).
/// Forward reads the decoder's per-layer hidden states and returns predictions and the embedding loss
///   Σ_task λ_task Σ_layer [ smoothL1 + w_c · InfoNCE ].
/// Parameter names follow the reference: task_tokens.special_*_tokens, image_{gen,depth,seg}_heads.i,
/// {gen,depth,seg}_logit_scale.
public sealed class OlaHeads : nn.Module
{
    readonly TaskTokens task_tokens;
    readonly Dictionary<OlaTask, ModuleList<EmbeddingPredictor>> _heads = new();
    // Logit scales are looked up by name at use time (module.to replaces parameter objects).
    readonly Dictionary<OlaTask, IReadOnlyList<int>> _layers = new();

    public OlaConfig Config { get; }
    public int Hidden { get; }
    public int NumLayers { get; }
    public TaskTokens TaskTokens => task_tokens;

    public OlaHeads(OlaConfig config, int hidden, int numLayers, Device? device = null) : base(nameof(OlaHeads))
    {
        device ??= Devices.Default;
        Config = config.Validate();
        Hidden = hidden; NumLayers = numLayers;
        task_tokens = new TaskTokens(config, hidden, device);
        foreach (var task in config.Tasks)
        {
            _layers[task] = config.LayersFor(task, numLayers);
            var heads = new ModuleList<EmbeddingPredictor>();
            foreach (var _ in _layers[task]) heads.Add(EmbeddingPredictor.ForTask(config, task, hidden, device));
            _heads[task] = heads;
            register_module($"image_{task.Name()}_heads", heads);
            if (config.UseContrastive)
            {
                register_parameter($"{task.Name()}_logit_scale", new Parameter(tensor((float)config.LogitScaleInit, device: device)));
            }
        }
        register_module("task_tokens", task_tokens);
    }

    /// 1-based LLM layers read for a task (OlaConfig.LayersFor at this depth).
    public IReadOnlyList<int> Layers(OlaTask task) => _layers[task];
    public EmbeddingPredictor Predictor(OlaTask task, int layer)
    {
        int i = _layers[task].ToList().IndexOf(layer);
        if (i < 0) throw new KeyNotFoundException($"OlaHeads: no {task.Name()} predictor at layer {layer} (layers: {string.Join(",", _layers[task])})");
        return _heads[task][i];
    }
    /// The task's logit-scale parameter s (null when the contrastive term is off).
    public Parameter? LogitScale(OlaTask task) =>
        Config.UseContrastive && Config.Tasks.Contains(task)
            ? named_parameters(recurse: false).First(p => p.name == $"{task.Name()}_logit_scale").parameter : null;

    /// layerStates: one [B, T, hidden] tensor per decoder layer, layerStates[k-1] = output of layer k.
    /// A Hugging Face style list with NumLayers+1 entries (embeddings first) is accepted; entry 0 is skipped.
    /// targets[task]: [B, NumTargetTokens, TargetDim] teacher embeddings; rows of text-only samples are
    /// masked out of the loss as Config.LossReduction says (under the default they stay as InfoNCE
    /// negatives, so they must be finite); a task without a target is predicted but adds no loss;
    /// null = predict only.
    public OlaHeadsOutput Forward(IReadOnlyList<Tensor> layerStates, OlaBatchLayout layout,
                                  IReadOnlyDictionary<OlaTask, Tensor>? targets = null)
    {
        int skip = layerStates.Count == NumLayers + 1 ? 1 : 0;
        if (layerStates.Count - skip != NumLayers)
            throw new ArgumentException($"OlaHeads: expected {NumLayers} layer hidden states (or {NumLayers + 1} with the embeddings first), got {layerStates.Count}");
        var device = layerStates[skip].device;
        var masks = TaskMasks.Build(layout, Config, device);
        var hasImage = layout.HasImageMask(device);
        var loss = zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: device);
        var parts = new List<EmbeddingLossPart>();
        var preds = new Dictionary<(OlaTask, int), Tensor>();
        foreach (var task in Config.Tasks)
        {
            var spec = Config.Spec(task);
            Tensor? target = null;
            if (targets is not null && targets.TryGetValue(task, out var tg))
            {
                target = tg;
                Checked.Shape(target, [layout.BatchSize, spec.NumTargetTokens, spec.TargetDim], $"OlaHeads target for {task.Name()}");
            }
            var heads = _heads[task];
            for (int i = 0; i < _layers[task].Count; i++)
            {
                int layer = _layers[task][i];
                var h = layerStates[skip + layer - 1];
                var queries = task == OlaTask.Gen ? GenLatents(h, layout) : task_tokens.Query(task);
                var pred = heads[i].forward(h, masks[task].Media, queries);
                preds[(task, layer)] = pred;
                if (target is null) continue;
                var terms = EmbeddingLoss.Compute(pred, target, hasImage, LogitScale(task), Config.LogitScaleMax, Config.LossReduction);
                var weighted = terms.Weighted(spec.LossWeight, Config.ContrastiveWeight);
                loss = loss + weighted;
                parts.Add(new EmbeddingLossPart(task, layer, terms.SmoothL1.detach(), terms.InfoNce.detach(), weighted.detach()));
            }
        }
        return new OlaHeadsOutput(loss, parts, preds);
    }

    /// The gen predictor's latents: its N ⟨gen⟩ hidden states at this layer, [B, N, hidden] (reference:
    /// the gen task tokens' slice of the layer); the predictor fits them to its query count (QueryTiling:
    /// the mean for the paper's single query). Samples without ⟨gen⟩ tokens (text-only) use the learned
    /// gen parameter instead, and so does everyone with N = 0 (then [1, hidden], a learned query).
    Tensor GenLatents(Tensor h, OlaBatchLayout layout)
    {
        var param = task_tokens.Query(OlaTask.Gen).to_type(h.dtype);
        int n = Config.NumTaskTokens;
        if (n == 0) return param;
        long b = h.shape[0];
        int offset = task_tokens.Offset(OlaTask.Gen);
        var pos = new long[b * n];
        var own = new bool[b];
        for (int i = 0; i < b; i++)
        {
            own[i] = layout.TaskStart[i] >= 0;
            for (int j = 0; j < n; j++) pos[i * n + j] = own[i] ? layout.TaskStart[i] + offset + j : 0;
        }
        var index = tensor(pos, device: h.device).view(b, n, 1).expand(b, n, h.shape[2]);
        var gathered = h.gather(1, index);                                         // [B, N, hidden]
        var hasOwn = tensor(own, device: h.device).view(b, 1, 1);
        return where(hasOwn, gathered, param.unsqueeze(0).expand(b, -1, -1));
    }
}
