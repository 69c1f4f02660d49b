using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Llama decoder + LM head (HF LlamaForCausalLM). With TieWordEmbeddings the head reuses
/// model.embed_tokens.weight and there is no lm_head parameter (as in HF's saved checkpoints).
public sealed class LlamaForCausalLM : nn.Module
{
    private readonly LlamaModel model;
    private readonly Linear? lm_head;
    public LlamaConfig Config { get; }

    /// initialize: false skips the random init (weights are about to be overwritten by a checkpoint).
    public LlamaForCausalLM(LlamaConfig c, Device? device = null, ScalarType? dtype = null, bool initialize = true) : base(nameof(LlamaForCausalLM))
    {
        Config = c;
        model = new LlamaModel(c);
        if (!c.TieWordEmbeddings) lm_head = nn.Linear(c.HiddenSize, c.VocabSize, hasBias: false);
        RegisterComponents();
        if (initialize) Init.LlamaWeights(this, 0.02);
        this.to(device ?? Core.Devices.Default);
        if (dtype is ScalarType dt) this.to(dt);
    }

    public LlamaModel Model => model;

    /// Token ids [B, T] → embeddings [B, T, hidden] (the multimodal collator uses this).
    public Tensor Embed(Tensor inputIds) => model.Embed(inputIds);

    /// Hidden states [.., hidden] → logits [.., vocab].
    public Tensor Head(Tensor h) =>
        lm_head is null ? nn.functional.linear(h, model.EmbedTokens.weight!) : lm_head.forward(h);

    /// See LlamaModel.forward; returns logits [B, T, vocab] plus last hidden state and, on request, every layer's.
    public LlamaOutput forward(Tensor? inputIds = null, Tensor? inputsEmbeds = null, Tensor? attentionMask = null,
        Tensor? positionIds = null, KvCache? cache = null, bool outputHiddenStates = false)
    {
        var (last, hidden) = model.forward(inputIds, inputsEmbeds, attentionMask, positionIds, cache, outputHiddenStates);
        return new LlamaOutput(Head(last), last, hidden);
    }

    public KvCache NewCache() => new(Config.NumLayers);

    /// Next-token cross-entropy: logits at t predict labels at t+1; −100 labels are ignored.
    public static Tensor CausalLmLoss(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        long v = logits.shape[^1];
        var shiftLogits = logits[.., ..^1, ..].reshape(-1, v).to(ScalarType.Float32);
        var shiftLabels = labels[.., 1..].reshape(-1);
        var loss = nn.functional.cross_entropy(shiftLogits, shiftLabels, ignore_index: Labels.Ignore);
        return loss.MoveToOuterDisposeScope();
    }
}
