using System.Text.Json;
using System.Text.Json.Nodes;
using OlaVlm.Model;
using OlaVlm.Ola;
using OlaVlm.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// Writes what the PyTorch peer (environment/bench/peer_step.py + peer_model.py) needs to rebuild a step:
///   spec.json          the model's shapes (keys as peer_model.py reads them), the batch's samples (token ids
///                      and labels), which parameters train in which AdamW group, and the optimizer settings;
///   weights.safetensors every parameter by name, fp32;
///   batch.safetensors  pixels or image features, and teacher targets as "target.<task>".
public static class PeerExport
{
    public const string SpecFile = "spec.json", WeightsFile = "weights.safetensors", BatchFile = "batch.safetensors";

    /// weights: (name, tensor) pairs, fp32 only (the peer compares fp32 steps).
    public static void Write(string dir, IEnumerable<(string Name, Tensor Value)> weights, IReadOnlyDictionary<string, Tensor> batch, JsonObject spec)
    {
        Directory.CreateDirectory(dir);
        using var scope = NewDisposeScope();
        var w = new Dictionary<string, Tensor>();
        foreach (var (name, t) in weights)
        {
            if (t.dtype != ScalarType.Float32)
                throw new ArgumentException($"PeerExport: parameter '{name}' is {t.dtype}; the peer benchmark compares fp32 steps");
            w[name] = t.detach().cpu().contiguous();
        }
        Save(Path.Combine(dir, WeightsFile), w);
        Save(Path.Combine(dir, BatchFile), batch.ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().contiguous()));
        File.WriteAllText(Path.Combine(dir, SpecFile), spec.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// A module's parameters by name. Not state_dict(): that can list one tensor twice under an alias
    /// (the projector's Sequential shows up as mm_projector.layers.* beside mm_projector.0.*).
    public static IEnumerable<(string, Tensor)> Parameters(nn.Module module, string prefix = "") =>
        module.named_parameters().Select(p => (prefix + p.name, (Tensor)p.parameter));

    static void Save(string file, Dictionary<string, Tensor> tensors)
    {
        using var s = File.Create(file);
        Safetensors.SaveStateDict(s, tensors, leaveOpen: true);
    }

    public static JsonObject Llm(LlamaConfig c) => new()
    {
        ["vocab"] = c.VocabSize, ["hidden"] = c.HiddenSize, ["intermediate"] = c.IntermediateSize, ["layers"] = c.NumLayers,
        ["heads"] = c.NumHeads, ["kv_heads"] = c.NumKvHeads, ["rope_theta"] = c.RopeTheta, ["rms_eps"] = c.RmsNormEps,
        ["tie_word_embeddings"] = c.TieWordEmbeddings,
    };

    public static JsonObject Vision(ClipVisionConfig c, int selectLayer) => new()
    {
        ["hidden"] = c.HiddenSize, ["intermediate"] = c.IntermediateSize, ["layers"] = c.NumLayers, ["heads"] = c.NumHeads,
        ["image_size"] = c.ImageSize, ["patch"] = c.PatchSize, ["channels"] = c.NumChannels, ["eps"] = c.LayerNormEps,
        ["select_layer"] = selectLayer,
    };

    /// The heads as built (the layers each task actually reads at this LLM depth, the inner widths chosen).
    public static JsonObject Ola(OlaHeads heads)
    {
        var c = heads.Config;
        var specs = new JsonObject();
        foreach (var task in c.Tasks)
        {
            var s = c.Spec(task);
            specs[task.Name()] = new JsonObject
            {
                ["tokens"] = s.NumTargetTokens, ["dim"] = s.TargetDim, ["inner_dim"] = s.InnerDimFor(heads.Hidden),
                ["layers"] = new JsonArray(heads.Layers(task).Select(l => (JsonNode)l).ToArray()), ["loss_weight"] = s.LossWeight,
            };
        }
        return new JsonObject
        {
            ["tasks"] = new JsonArray(c.Tasks.Select(t => (JsonNode)t.Name()).ToArray()),
            ["num_task_tokens"] = c.NumTaskTokens, ["specs"] = specs,
            ["predictor"] = new JsonObject { ["depth"] = c.PredictorDepth, ["heads"] = c.PredictorHeads, ["dim_head"] = c.PredictorDimHead, ["ff_mult"] = c.PredictorFfMult },
            ["use_contrastive"] = c.UseContrastive, ["contrastive_weight"] = c.ContrastiveWeight, ["logit_scale_max"] = c.LogitScaleMax,
            ["loss_reduction"] = c.LossReduction.ToString(), ["pass_system"] = c.PassSystemToPredictor, ["pass_text"] = c.PassTextToPredictor,
        };
    }

    /// The AdamW groups exactly as built (names, order, learning rate, weight decay, member parameters).
    public static JsonObject Train(ParamGroups groups, TrainConfig tc, string prefix = "") => new()
    {
        ["groups"] = new JsonArray(groups.Groups.Select(g => (JsonNode)new JsonObject
        {
            ["name"] = g.Name, ["lr"] = g.Lr, ["weight_decay"] = g.WeightDecay,
            ["params"] = new JsonArray(g.Params.Select(p => (JsonNode)(prefix + p.Name)).ToArray()),
        }).ToArray()),
        ["lr"] = tc.LearningRate, ["beta1"] = tc.Beta1, ["beta2"] = tc.Beta2, ["eps"] = tc.Eps, ["weight_decay"] = tc.WeightDecay,
        ["max_grad_norm"] = tc.MaxGradNorm,
    };

    public static JsonArray Samples(IEnumerable<MultimodalSample> samples) =>
        new(samples.Select(s => (JsonNode)new JsonObject
        {
            ["ids"] = new JsonArray(s.InputIds.Select(i => (JsonNode)i).ToArray()),
            ["labels"] = new JsonArray(s.Labels.Select(i => (JsonNode)i).ToArray()),
        }).ToArray());
}
