namespace OlaVlm.Teachers.OneFormer;

/// Multiply-accumulates (MACs) of one SwinBackbone forward for one image, counted from the shapes; FLOPs = 2·MACs.
/// Counted: the patch embedding, per block the q/k/v/output projections and the two attention products on the
/// window-padded map (HF runs them on the padded windows) and the MLP on the unpadded tokens, and the patch mergings.
/// Left out (well under 1%): LayerNorms, softmax, GELU, bias adds, the stage norms.
/// Per block on an h×w map of C channels, window w_s, padded to h_p×w_p (n_p = h_p·w_p tokens), MLP ratio r:
///   4·n_p·C² + 2·n_p·w_s²·C + 2·r·h·w·C²;  a merging: ⌈h/2⌉·⌈w/2⌉·4C·2C;  the embedding: h·w·C·3·P².
/// Check: Swin-T at 224² gives 4.49 G and Swin-L at 384² 103.9 G, the Swin paper's "FLOPs" (which are MACs).
public static class SwinFlops
{
    public static long Macs(SwinConfig c, long height, long width)
    {
        long h = (height + c.PatchSize - 1) / c.PatchSize, w = (width + c.PatchSize - 1) / c.PatchSize;
        long macs = h * w * c.EmbedDim * c.NumChannels * c.PatchSize * c.PatchSize;
        for (int i = 0; i < c.NumStages; i++)
        {
            long dim = c.StageDim(i), ws = Math.Min(c.WindowSize, Math.Min(h, w));
            long padded = (h + ws - 1) / ws * ws * ((w + ws - 1) / ws * ws);
            macs += c.Depths[i] * (4 * padded * dim * dim + 2 * padded * ws * ws * dim + 2 * h * w * dim * c.MlpHidden((int)dim));
            if (i == c.NumStages - 1) break;
            (h, w) = ((h + 1) / 2, (w + 1) / 2);
            macs += h * w * 4 * dim * 2 * dim;
        }
        return macs;
    }
}
