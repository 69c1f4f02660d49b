using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Output of a decoder forward. HiddenStates (on request) follows HF's output_hidden_states: entry 0 is
/// the embeddings, entry i the output of layer i (1-based), and the last entry is the final RMSNorm's
/// output — NumLayers + 1 tensors of [B, T, hidden]. OLA-VLM's predictors read HiddenStates[layer].
public sealed record LlamaOutput(Tensor Logits, Tensor LastHiddenState, IReadOnlyList<Tensor>? HiddenStates) : IDisposable
{
    public void Dispose()
    {
        Logits.Dispose(); LastHiddenState.Dispose();
        if (HiddenStates != null) foreach (var h in HiddenStates) h.Dispose();
    }
}

/// The Llama decoder stack without the LM head (HF LlamaModel): embed_tokens → layers → norm.
public sealed class LlamaModel : nn.Module
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<LlamaDecoderLayer> layers;
    private readonly RmsNorm norm;
    public LlamaConfig Config { get; }

    public LlamaModel(LlamaConfig c) : base(nameof(LlamaModel))
    {
        c.Validate();
        Config = c;
        embed_tokens = nn.Embedding(c.VocabSize, c.HiddenSize);
        layers = nn.ModuleList(Enumerable.Range(0, c.NumLayers).Select(_ => new LlamaDecoderLayer(c)).ToArray());
        norm = new RmsNorm(c.HiddenSize, c.RmsNormEps);
        RegisterComponents();
    }

    public Embedding EmbedTokens => embed_tokens;

    /// Token ids [B, T] → embeddings [B, T, hidden].
    public Tensor Embed(Tensor inputIds) => embed_tokens.forward(inputIds);

    /// Exactly one of inputIds [B, T] / inputsEmbeds [B, T, hidden]. attentionMask [B, Tpast + T]
    /// (1 = token, 0 = padding; null = all tokens). positionIds [B, T] (null = derived from the mask so
    /// left padding does not shift positions, as HF generate does).
    public (Tensor Last, List<Tensor>? Hidden) forward(Tensor? inputIds, Tensor? inputsEmbeds, Tensor? attentionMask = null,
        Tensor? positionIds = null, KvCache? cache = null, bool outputHiddenStates = false)
    {
        if ((inputIds is null) == (inputsEmbeds is null))
            throw new ArgumentException("LlamaModel.forward: pass exactly one of inputIds and inputsEmbeds");
        using var scope = NewDisposeScope();
        var h = inputsEmbeds ?? embed_tokens.forward(inputIds!);
        long b = h.shape[0], t = h.shape[1];
        long past = cache?.Length ?? 0;
        if (cache is not null && cache.Layers.Count != layers.Count)
            throw new ArgumentException($"KvCache has {cache.Layers.Count} layers, model has {layers.Count}");
        var mask = attentionMask ?? ones(b, past + t, dtype: ScalarType.Int64, device: h.device);
        Core.Checked.Shape(mask, [b, past + t], "LlamaModel.forward attentionMask (B, past + T)");
        positionIds ??= DefaultPositions(mask, t);
        Core.Checked.Shape(positionIds, [b, t], "LlamaModel.forward positionIds");
        var (cos, sin) = LongRope.Tables(positionIds, Config, h.dtype);
        var additive = CausalMask.Build(mask, t, h.dtype, Config.SlidingWindow);

        List<Tensor>? hidden = outputHiddenStates ? new() { h } : null;
        for (int i = 0; i < layers.Count; i++)
        {
            h = layers[i].forward(h, cos, sin, additive, cache?.Layers[i]);
            if (hidden != null && i < layers.Count - 1) hidden.Add(h);
        }
        h = norm.forward(h);
        hidden?.Add(h);
        h.MoveToOuterDisposeScope();
        hidden?.ForEach(x => x.MoveToOuterDisposeScope());
        return (h, hidden);
    }

    /// Position of each new token = number of real tokens before it (pads get position 1, never attended).
    public static Tensor DefaultPositions(Tensor mask, long newTokens)
    {
        using var scope = NewDisposeScope();
        var m = mask.to(ScalarType.Int64);
        var pos = m.cumsum(-1) - 1;
        pos = pos.masked_fill(m.eq(0), 1);
        return pos[.., (int)(pos.shape[1] - newTokens)..].contiguous().MoveToOuterDisposeScope();
    }
}
