using OlaVlm.Model;
using OlaVlm.World;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Foundation;

/// Dense labels for one image's patches (the grid LLaVA reads, row-major), from the world's exact buffers:
///   Seg     [patches × SegClass count]: the share of the patch's pixels showing each class (sky, floor, cube, sphere,
///           cylinder, cone) — semantic segmentation at patch resolution, as soft labels, so no threshold decides
///           what a patch half covered by a cone "is".
///   Centre  [patches]: 1 + the shape of the object whose box centre lies in the patch (the cell a caption's
///           "c<col> r<row>" names), 0 for every other patch. Two centres in one patch: the more visible object.
public sealed record PatchTargets(float[] Seg, long[] Centre)
{
    public static readonly int SegClasses = Enum.GetValues<SegClass>().Length;
    public static int CentreClasses => 1 + Shapes.All.Length;

    /// Targets of a scene: `seg` its SegClass id per pixel ([size × size], row-major), `objects` its object list.
    public static PatchTargets Of(byte[] seg, IReadOnlyList<SceneObject> objects, int imageSize, int patchSize, string source)
    {
        if (seg.Length != imageSize * imageSize)
            throw new InvalidDataException($"{source}: segmentation has {seg.Length} pixels, expected {imageSize}×{imageSize}");
        if (imageSize % patchSize != 0)
            throw new ArgumentException($"PatchTargets: image size {imageSize} is not a whole number of {patchSize}-pixel patches");
        int side = imageSize / patchSize, patches = side * side, c = SegClasses;
        var shares = new float[patches * c];
        float perPixel = 1f / (patchSize * patchSize);
        for (int y = 0; y < imageSize; y++)
            for (int x = 0; x < imageSize; x++)
            {
                int id = seg[y * imageSize + x];
                if (id >= c) throw new InvalidDataException($"{source}: pixel ({x}, {y}) has class id {id}; the world has {c} classes");
                shares[((y / patchSize) * side + x / patchSize) * c + id] += perPixel;
            }
        var centre = new long[patches];
        var owner = new int[patches];
        foreach (var o in objects)
        {
            int col = Math.Clamp((int)(o.Box.CenterX / patchSize), 0, side - 1), row = Math.Clamp((int)(o.Box.CenterY / patchSize), 0, side - 1);
            int p = row * side + col;
            if (centre[p] != 0 && owner[p] >= o.VisiblePixels) continue;
            centre[p] = 1 + (int)o.Shape;
            owner[p] = o.VisiblePixels;
        }
        return new PatchTargets(shares, centre);
    }

    /// Seg [B, patches, classes] and Centre [B, patches] of a batch.
    public static (Tensor Seg, Tensor Centre) Batch(IReadOnlyList<PatchTargets> items, Device device)
    {
        int p = items[0].Centre.Length;
        if (items.Any(t => t.Centre.Length != p)) throw new ArgumentException("PatchTargets.Batch: images with different patch counts");
        return (tensor(items.SelectMany(t => t.Seg).ToArray(), [items.Count, p, SegClasses], device: device),
                tensor(items.SelectMany(t => t.Centre).ToArray(), [items.Count, p], device: device));
    }
}

/// Two linear read-outs of patch features, trained beside the mini CLIP and discarded after: one predicts the
/// patch's class shares (PatchTargets.Seg), one the shape whose object centre the patch holds (PatchTargets.Centre).
/// Why (a deliberate difference from CLIP, docs/reference-equivalence.md): LLaVA's CLIP learned from 400 M pairs
/// that objects have shapes; the mini CLIP's contrastive loss, even with hard negatives, left an object's shape
/// barely readable from its centre patch (linear probe 0.44, random tower 0.38), and Count at chance in every
/// run. Linear heads push the information into the features LLaVA reads (layer −2) in a linearly readable form,
/// which is what the projector — two layers — can carry. Depth is not supervised: it stays what OLA-VLM's depth
/// teacher adds.
public sealed class PatchHeads : nn.Module
{
    private readonly Linear seg_head, centre_head;

    public PatchHeads(int width, Device? device = null) : base(nameof(PatchHeads))
    {
        seg_head = nn.Linear(width, PatchTargets.SegClasses);
        centre_head = nn.Linear(width, PatchTargets.CentreClasses);
        RegisterComponents();
        this.to(device ?? Core.Devices.Default);
    }

    /// Soft cross-entropy against the class shares, and cross-entropy of the centre shape, each the mean over
    /// all patches of the batch. patches [B, P, width], seg [B, P, classes], centre [B, P].
    public (Tensor Seg, Tensor Centre) Loss(Tensor patches, Tensor seg, Tensor centre)
    {
        if (patches.shape[0] != seg.shape[0] || patches.shape[1] != seg.shape[1] || centre.shape[1] != patches.shape[1])
            throw new Core.ShapeMismatchException($"PatchHeads: patches {Core.Checked.Fmt(patches.shape)} vs targets {Core.Checked.Fmt(seg.shape)} / {Core.Checked.Fmt(centre.shape)}");
        using var scope = NewDisposeScope();
        var segLoss = -(seg * nn.functional.log_softmax(seg_head.forward(patches), -1)).sum(-1).mean();
        var centreLoss = nn.functional.cross_entropy(centre_head.forward(patches).flatten(0, 1), centre.flatten());
        return (segLoss.MoveToOuterDisposeScope(), centreLoss.MoveToOuterDisposeScope());
    }
}

/// The mini CLIP and its PatchHeads as one module, so the Trainer's optimizer, clipping and checkpoints see both.
public sealed class ClipWithPatchHeads : nn.Module
{
    private readonly ClipModel clip;
    private readonly PatchHeads heads;

    public ClipWithPatchHeads(ClipModel clip, PatchHeads heads) : base(nameof(ClipWithPatchHeads))
    {
        this.clip = clip;
        this.heads = heads;
        RegisterComponents();
    }

    public ClipModel Clip => clip;
    public PatchHeads Heads => heads;
}
