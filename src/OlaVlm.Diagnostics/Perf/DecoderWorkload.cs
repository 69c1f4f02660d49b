using System.Text.Json.Nodes;
using OlaVlm.Model;
using OlaVlm.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// The synthetic PT step of the earlier peer figures: a frozen 4-layer d=256 Llama decoder (8 heads / 4 KV
/// heads, SwiGLU 688, RMSNorm, RoPE, tied embeddings, vocabulary 1024) fed [BOS | projected image features |
/// text] (T tokens a sample, half of them image features), batch B; only the mlp2x_gelu projector learns
/// (AdamW lr 1e-3, clip 1.0). Big enough that matrix products dominate, unlike the miniature's d=64 steps.
/// dtype: the decoder's weights (bf16 for the bf16 measurements; the projector and its optimizer stay fp32).
public sealed class DecoderWorkload : IPeerWorkload
{
    const long ImageTokenId = 4;
    const int VisionWidth = 256;
    readonly LlamaForCausalLM _lm;
    readonly Projector _projector;
    readonly ParamGroups _groups;
    readonly TrainConfig _train = new() { LearningRate = 1e-3, MaxGradNorm = 1.0 };
    readonly AdamW _opt;
    readonly Tensor _features;
    readonly List<MultimodalSample> _samples;
    readonly ScalarType _dtype;
    readonly int _batch, _seqLen;

    public string Name => _dtype == ScalarType.Float32 ? "decoder" : $"decoder-{_dtype}";
    public string Description =>
        $"frozen Llama decoder 4 layers d=256 (GQA 8/4, SwiGLU 688, vocab 1024, {_dtype}), B={_batch}, T={_seqLen} " +
        $"({_seqLen / 2 - 1} image features + {_seqLen / 2} text tokens); trains the projector ({_groups.Groups.Sum(g => g.Elements):N0} parameters)";

    public DecoderWorkload(int batch = 16, int seqLen = 128, ScalarType dtype = ScalarType.Float32, Device? device = null, long seed = 0)
    {
        device ??= Core.Devices.Default;
        (_dtype, _batch, _seqLen) = (dtype, batch, seqLen);
        manual_seed(seed).Dispose();
        var config = new LlamaConfig(1024, 256, 688, 4, 8, 4, TieWordEmbeddings: true, MaxPositionEmbeddings: 4096);
        _lm = new LlamaForCausalLM(config, device, dtype);
        Freezing.Freeze(_lm);
        _projector = new Projector(VisionWidth, config.HiddenSize);
        _projector.to(device);
        _groups = ParamGroups.Build(_projector, _train, [GroupRule.Rest("projector")]);
        _opt = _groups.CreateAdamW(_train);
        int imageTokens = seqLen / 2, textTokens = seqLen - imageTokens;
        var gen = new Random((int)seed);
        // Per sample [BOS, <image>, text...]; <image> becomes imageTokens - 1 feature rows, so T - 1 tokens.
        _samples = Enumerable.Range(0, batch).Select(_ =>
        {
            var ids = new[] { 1L, ImageTokenId }.Concat(Enumerable.Range(0, textTokens - 1).Select(_ => (long)gen.Next(5, config.VocabSize))).ToArray();
            return new MultimodalSample(ids, ids.Select((t, i) => i < 2 ? Labels.Ignore : t).ToArray());
        }).ToList();
        _features = randn(batch, imageTokens - 1, VisionWidth, device: device);
    }

    public void Export(string dir)
    {
        var spec = new JsonObject
        {
            ["workload"] = Name, ["dtype"] = _dtype == ScalarType.Float32 ? "float32" : _dtype.ToString(),
            ["vision"] = null, ["projector"] = new JsonObject { ["in"] = VisionWidth, ["out"] = _lm.Config.HiddenSize },
            ["llm"] = PeerExport.Llm(_lm.Config), ["image_token_id"] = ImageTokenId, ["ola"] = null,
            ["samples"] = PeerExport.Samples(_samples), ["train"] = PeerExport.Train(_groups, _train, "llava.mm_projector."),
        };
        PeerExport.Write(dir, PeerExport.Parameters(_projector, "llava.mm_projector.").Concat(PeerExport.Parameters(_lm, "llava.language_model.")),
                         new Dictionary<string, Tensor> { ["image_features"] = _features }, spec);
    }

    public StepResult Step()
    {
        using var scope = NewDisposeScope();
        _opt.zero_grad();
        var projected = _projector.forward(_features).to(_dtype);
        using var mb = MultimodalCollator.Assemble(_lm, _samples, projected, ImageTokenId);
        using var output = _lm.forward(inputsEmbeds: mb.InputsEmbeds, attentionMask: mb.AttentionMask, positionIds: mb.PositionIds);
        var loss = LlamaForCausalLM.CausalLmLoss(output.Logits, mb.Labels);
        loss.backward();
        double norm = nn.utils.clip_grad_norm_(_groups.Trainable, _train.MaxGradNorm);
        _opt.step();
        return new StepResult(loss.item<float>(), norm);
    }

    public void Dispose() { _opt.Dispose(); _features.Dispose(); _projector.Dispose(); _lm.Dispose(); }
}
