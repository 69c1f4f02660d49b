using OlaVlm.Data;
using OlaVlm.Foundation;
using OlaVlm.Model;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Foundation;

public class PatchSupervisionTests
{
    [Fact]
    public void Targets_hold_each_patchs_class_shares_and_each_objects_centre_shape()
    {
        var world = FoundationFixture.World;
        int size = world.Manifest.Config.ImageSize, patch = 8, side = size / patch, c = PatchTargets.SegClasses;
        int centres = 0, objects = 0;
        foreach (var scene in world.Scenes("pt").Take(20))
        {
            var seg = world.Seg(scene);
            var t = PatchTargets.Of(seg, scene.Objects, size, patch, scene.Id);
            Assert.Equal(side * side * c, t.Seg.Length);
            for (int p = 0; p < side * side; p++)
            {
                Assert.Equal(1.0, t.Seg.Skip(p * c).Take(c).Sum(), 1e-4);
                // The share of a class is the count of its pixels in the patch, read straight off the buffer.
                int row = p / side, col = p % side;
                for (int k = 0; k < c; k++)
                {
                    int n = 0;
                    for (int y = row * patch; y < (row + 1) * patch; y++)
                        for (int x = col * patch; x < (col + 1) * patch; x++) n += seg[y * size + x] == k ? 1 : 0;
                    Assert.Equal(n / (double)(patch * patch), t.Seg[p * c + k], 1e-5);
                }
            }
            // Every object marks the patch of its box centre with its shape, unless a more visible object
            // is centred in the same patch; no other patch is marked.
            var cells = scene.Objects.GroupBy(o => (ObjectFacts.Of(o, size).Row, ObjectFacts.Of(o, size).Col))
                .ToDictionary(g => g.Key.Row * side + g.Key.Col, g => g.MaxBy(o => o.VisiblePixels)!);
            for (int p = 0; p < side * side; p++)
                Assert.Equal(cells.TryGetValue(p, out var o) ? 1 + (int)o.Shape : 0, t.Centre[p]);
            centres += t.Centre.Count(v => v != 0);
            objects += scene.Objects.Count;
        }
        Assert.True(centres > objects * 0.8, $"{centres} centre patches for {objects} objects");
    }

    [Fact]
    public void Bad_segmentation_is_named()
    {
        var scene = FoundationFixture.World.Scenes("pt")[0];
        var ex = Assert.Throws<InvalidDataException>(() => PatchTargets.Of(new byte[10], scene.Objects, 64, 8, "pt/seg/x.png"));
        Assert.Contains("pt/seg/x.png", ex.Message);
        var bad = new byte[64 * 64]; bad[5] = 17;
        ex = Assert.Throws<InvalidDataException>(() => PatchTargets.Of(bad, scene.Objects, 64, 8, "pt/seg/y.png"));
        Assert.Contains("class id 17", ex.Message);
    }

    [Fact]
    public void Clip_with_patch_heads_learns_the_heads_and_refuses_pairs_without_targets()
    {
        var world = FoundationFixture.World;
        var tok = FoundationFixture.Tokenizer;
        var f = FoundationFixture.Tiny with { ClipSteps = 30, ClipBatch = 8, ClipLr = 3e-3, WeightDecay = 0, LogEvery = 1 };
        using var pairs = ClipPairs.FromCaptionData(LlavaDataset.Load(world.PtJson), tok, f.TextLength);
        manual_seed(1).Dispose();
        using var clip = new ClipModel(f.ClipModelConfig(tok.VocabSize), CPU);
        var ex = Assert.Throws<ArgumentException>(() => MiniClip.Train(clip, pairs, f, tok.PadId, FoundationFixture.TempDir("clip-heads"), CPU));
        Assert.Contains("WithPatchTargets", ex.Message);

        pairs.WithPatchTargets(world, world.Scenes("pt"), f.Vision.PatchSize);
        var history = MiniClip.Train(clip, pairs, f, tok.PadId, FoundationFixture.TempDir("clip-heads"), CPU);
        double First(string k) => history.Take(5).Average(h => h.Parts[k]);
        double Last(string k) => history.TakeLast(5).Average(h => h.Parts[k]);
        Assert.True(Last("seg") < First("seg") - 0.2, $"seg read-out {First("seg"):F3} → {Last("seg"):F3}");
        Assert.True(Last("centre") < First("centre") - 0.2, $"centre read-out {First("centre"):F3} → {Last("centre"):F3}");
        // The heads are the trainer's, not the CLIP's: its weights keep their HF names.
        Assert.DoesNotContain(clip.state_dict().Keys, k => k.Contains("head"));
    }
}
