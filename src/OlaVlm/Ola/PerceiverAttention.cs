using OlaVlm.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Ola;

/// Perceiver cross-attention (Flamingo / IP-Adapter style, as the reference resampler.py):
/// latents attend to [media ; latents]. Media and latents get their own LayerNorm (norm1, norm2);
/// keys and values come from one projection (to_kv) of the concatenation, so the latents can also
/// read each other. No biases.
///
/// `mediaMask` [B, T] (true = may be attended) removes media positions from the keys: a masked
/// position gets weight exactly 0, so its content cannot change the output. The latents are always
/// attendable, so a row with every media position masked still has a valid softmax.
public sealed class PerceiverAttention : nn.Module<Tensor, Tensor, Tensor?, Tensor>
{
    readonly LayerNorm norm1, norm2;
    readonly Linear to_q, to_kv, to_out;
    readonly int _heads, _dimHead;

    public PerceiverAttention(int dim, int dimHead, int heads, Device? device = null) : base(nameof(PerceiverAttention))
    {
        device ??= Devices.Default;
        _heads = heads; _dimHead = dimHead;
        int inner = dimHead * heads;
        norm1 = nn.LayerNorm(dim, device: device);
        norm2 = nn.LayerNorm(dim, device: device);
        to_q = nn.Linear(dim, inner, hasBias: false, device: device);
        to_kv = nn.Linear(dim, inner * 2, hasBias: false, device: device);
        to_out = nn.Linear(inner, dim, hasBias: false, device: device);
        RegisterComponents();
    }

    /// x: media [B, T, dim]; latents [B, Q, dim]; mediaMask [B, T] bool or null → [B, Q, dim].
    public override Tensor forward(Tensor x, Tensor latents, Tensor? mediaMask)
    {
        using var scope = NewDisposeScope();
        long b = latents.shape[0], q = latents.shape[1];
        if (x.shape[0] != b || x.shape[2] != latents.shape[2])
            throw new ShapeMismatchException($"PerceiverAttention: media {Checked.Fmt(x.shape)} and latents {Checked.Fmt(latents.shape)} disagree on batch or width");
        var xn = norm1.forward(x);
        var ln = norm2.forward(latents);
        var qh = Heads(to_q.forward(ln));                                   // [B, H, Q, dh]
        var kv = to_kv.forward(cat([xn, ln], 1)).chunk(2, -1);
        var kh = Heads(kv[0]); var vh = Heads(kv[1]);                       // [B, H, T+Q, dh]
        // Scale q and k by dh^-1/4 each (as the reference: more stable in half precision).
        double s = 1.0 / Math.Sqrt(Math.Sqrt(_dimHead));
        var w = einsum("bhqd,bhkd->bhqk", qh * s, kh * s);
        if (mediaMask is not null)
        {
            Checked.Shape(mediaMask, [b, x.shape[1]], "PerceiverAttention media mask");
            var keep = cat([mediaMask.to_type(ScalarType.Bool), ones(b, q, dtype: ScalarType.Bool, device: x.device)], 1);
            w = w.masked_fill(keep.logical_not().view(b, 1, 1, -1), double.NegativeInfinity);
        }
        w = w.to_type(ScalarType.Float32).softmax(-1).to_type(vh.dtype);
        var o = einsum("bhqk,bhkd->bhqd", w, vh).permute(0, 2, 1, 3).reshape(b, q, _heads * _dimHead);
        return to_out.forward(o).MoveToOuterDisposeScope();
    }

    Tensor Heads(Tensor t) => t.view(t.shape[0], t.shape[1], _heads, _dimHead).transpose(1, 2);
}
