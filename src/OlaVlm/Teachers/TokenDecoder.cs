using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace OlaVlm.Teachers;

/// Dense head shared by the three teachers: tokens on a g×g grid [B, g·g, D] → picture [B, out, H, W].
/// A linear projection to `channels`, then ×2 upsampling stages (nearest + 3×3 conv + GroupNorm + GELU,
/// channels halved down to 8) up to a quarter of the image size, then a 1×1 conv to out·16 channels and
/// a ×4 pixel shuffle (full-resolution convs would cost 4× the rest on a CPU for little gain here).
/// No skip connections on purpose: it sees ONLY the target embedding, so what it draws is what the
/// embedding holds.
public sealed class TokenDecoder : Module<Tensor, Tensor>
{
    const int Shuffle = 4;
    readonly Linear proj;
    readonly ModuleList<Conv2d> ups;
    readonly ModuleList<GroupNorm> norms;
    readonly Conv2d out_conv;
    readonly int grid;

    public TokenDecoder(int tokenDim, int grid, int imageSize, int channels, int outChannels) : base(nameof(TokenDecoder))
    {
        if (imageSize % (grid * Shuffle) != 0 || !int.IsPow2(imageSize / (grid * Shuffle)))
            throw new ArgumentException($"TokenDecoder: image size {imageSize} must be grid {grid} × {Shuffle} × a power of two");
        this.grid = grid;
        int stages = int.Log2(imageSize / (grid * Shuffle));
        proj = Linear(tokenDim, channels);
        var convs = new List<Conv2d>(); var gns = new List<GroupNorm>();
        int c = channels;
        for (int i = 0; i < stages; i++)
        {
            int next = Math.Max(8, c / 2);
            convs.Add(Conv2d(c, next, 3, padding: 1)); gns.Add(GroupNorm(ConvStage.Groups(next), next));
            c = next;
        }
        ups = new ModuleList<Conv2d>(convs.ToArray());
        norms = new ModuleList<GroupNorm>(gns.ToArray());
        out_conv = Conv2d(c, outChannels * Shuffle * Shuffle, 1);
        RegisterComponents();
    }

    /// Starts every output at `value` (e.g. a typical log-depth), so training need not first climb to it.
    public void SetOutputBias(float value)
    {
        using var _ = no_grad();
        out_conv.bias!.fill_(value);
    }

    public override Tensor forward(Tensor tokens)
    {
        long b = tokens.shape[0];
        if (tokens.dim() != 3 || tokens.shape[1] != grid * grid)
            throw new OlaVlm.Core.ShapeMismatchException($"TokenDecoder: expected [B, {grid * grid}, D] tokens, got {OlaVlm.Core.Checked.Fmt(tokens.shape)}");
        var x = proj.forward(tokens).transpose(1, 2).reshape(b, -1, grid, grid);
        for (int i = 0; i < ups.Count; i++)
            x = functional.gelu(norms[i].forward(ups[i].forward(functional.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest))));
        return functional.pixel_shuffle(out_conv.forward(x), Shuffle);
    }
}
