using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Teachers.OneFormer;

/// HF SwinStage: `blocks` (even ones plain, odd ones shifted by ⌊window/2⌋) and, on every stage but the last,
/// `downsample` (patch merging). Returns the stage's output before merging (what SwinBackbone reports) and the
/// merged tokens for the next stage.
public sealed class SwinStage : nn.Module
{
    private readonly ModuleList<SwinLayer> blocks;
    private readonly SwinPatchMerging? downsample;

    public SwinStage(SwinConfig c, int index, Device? device = null) : base(nameof(SwinStage))
    {
        int dim = c.StageDim(index);
        blocks = new ModuleList<SwinLayer>(Enumerable.Range(0, c.Depths[index])
            .Select(i => new SwinLayer(c, dim, c.NumHeads[index], i % 2 == 0 ? 0 : c.WindowSize / 2, device)).ToArray());
        downsample = index < c.NumStages - 1 ? new SwinPatchMerging(dim, device) : null;
        RegisterComponents();
    }

    public IReadOnlyList<SwinLayer> Blocks => blocks.ToList();

    /// x [B, height·width, C] → (the stage's output [B, height·width, C], the next stage's input or null on the last).
    public (Tensor Output, Tensor? Merged) forward(Tensor x, long height, long width)
    {
        using var scope = NewDisposeScope();
        var h = x;
        foreach (var block in blocks) h = block.forward(h, height, width);
        var merged = downsample?.forward(h, height, width);
        return (h.MoveToOuterDisposeScope(), merged?.MoveToOuterDisposeScope());
    }
}

/// HF SwinEncoder: the stages, as `layers` (the checkpoint's `encoder.layers.{i}`).
public sealed class SwinEncoder : nn.Module
{
    private readonly ModuleList<SwinStage> layers;

    public SwinEncoder(SwinConfig c, Device? device = null) : base(nameof(SwinEncoder))
    {
        layers = new ModuleList<SwinStage>(Enumerable.Range(0, c.NumStages).Select(i => new SwinStage(c, i, device)).ToArray());
        RegisterComponents();
    }

    public IReadOnlyList<SwinStage> Stages => layers.ToList();
}
