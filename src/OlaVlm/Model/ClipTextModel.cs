using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Token + position embeddings → causal pre-LN encoder → final_layer_norm (HF CLIPTextTransformer).
public sealed class ClipTextTransformer : nn.Module
{
    private readonly ClipTextEmbeddings embeddings;
    private readonly ClipEncoder encoder;
    private readonly LayerNorm final_layer_norm;
    public ClipTextConfig Config { get; }

    public ClipTextTransformer(ClipTextConfig c) : base(nameof(ClipTextTransformer))
    {
        Config = c;
        embeddings = new ClipTextEmbeddings(c);
        encoder = new ClipEncoder(c.HiddenSize, c.IntermediateSize, c.NumLayers, c.NumHeads, c.LayerNormEps);
        final_layer_norm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
        RegisterComponents();
    }

    /// ids [B, T], mask [B, T] (1 = token; null = all) → (last hidden [B, T, width], pooled [B, width]).
    /// Pooled = the hidden state of each row's last real token: CLIP pools at EOS, which its tokenizer
    /// always puts last; taking the last unpadded position works for any tokenizer.
    public (Tensor Last, Tensor Pooled) forward(Tensor ids, Tensor? mask = null)
    {
        using var scope = NewDisposeScope();
        long b = ids.shape[0], t = ids.shape[1];
        if (t > Config.MaxPositionEmbeddings)
            throw new Core.ShapeMismatchException($"ClipTextTransformer: {t} tokens exceed {Config.MaxPositionEmbeddings} positions");
        var m = mask ?? ones(b, t, dtype: ScalarType.Int64, device: ids.device);
        var x = embeddings.forward(ids);
        var additive = CausalMask.Build(m, t, x.dtype);   // causal + key padding, like HF's text tower
        var last = final_layer_norm.forward(encoder.forward(x, additive)[^1]);
        var lastIndex = (m.to(ScalarType.Int64).sum(-1) - 1).clamp_min(0);
        var pooled = last[arange(b, device: ids.device), lastIndex];
        return (last.MoveToOuterDisposeScope(), pooled.MoveToOuterDisposeScope());
    }
}

public sealed class ClipTextEmbeddings : nn.Module<Tensor, Tensor>
{
    private readonly Embedding token_embedding, position_embedding;

    public ClipTextEmbeddings(ClipTextConfig c) : base(nameof(ClipTextEmbeddings))
    {
        token_embedding = nn.Embedding(c.VocabSize, c.HiddenSize);
        position_embedding = nn.Embedding(c.MaxPositionEmbeddings, c.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids)
    {
        using var pos = arange(ids.shape[1], device: ids.device);
        using var tok = token_embedding.forward(ids);
        using var p = position_embedding.forward(pos);
        return tok + p.unsqueeze(0);
    }
}

/// CLIP text tower alone (HF CLIPTextModel: parameters under `text_model.`).
public sealed class ClipTextModel : nn.Module
{
    private readonly ClipTextTransformer text_model;

    public ClipTextModel(ClipTextConfig c, Device? device = null) : base(nameof(ClipTextModel))
    {
        text_model = new ClipTextTransformer(c);
        RegisterComponents();
        this.to(device ?? Core.Devices.Default);
    }

    public (Tensor Last, Tensor Pooled) forward(Tensor ids, Tensor? mask = null) => text_model.forward(ids, mask);
}
