using OlaVlm.Foundation;
using OlaVlm.Model;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Foundation;

public class HardNegativesTests
{
    static string[] Entries(string caption) => caption.TrimEnd('.').Split("; ");

    [Fact]
    public void EachNegativeChangesOneShapeOrTheBindingOfTwoOrOneDepthAndNothingElse()
    {
        var world = FoundationFixture.World;
        int size = world.Manifest.Config.ImageSize;
        var shapeWords = Shapes.All.Select(Shapes.Name).ToHashSet();
        var rng = new Random(3);
        var seen = new HashSet<HardNegatives.Change>();
        foreach (var scene in world.Scenes("pt"))
        {
            var truth = Entries(Captions.Describe(SceneQa.Shell(scene.Id, scene.Objects, size)));
            for (int k = 0; k < 6; k++)
            {
                var (caption, change) = HardNegatives.Make(scene.Objects, size, rng);
                seen.Add(change);
                var neg = Entries(caption);
                Assert.Equal(truth.Length, neg.Length);
                var differ = Enumerable.Range(0, truth.Length).Where(i => truth[i] != neg[i]).ToList();
                var words = differ.Select(i => (T: truth[i].Split(' '), N: neg[i].Split(' '))).ToList();
                switch (change)
                {
                    case HardNegatives.Change.ShapeReplaced:
                        Assert.Single(differ);
                        Assert.True(shapeWords.Contains(words[0].N[0]) && words[0].N[0] != words[0].T[0], $"{truth[differ[0]]} → {neg[differ[0]]}");
                        Assert.Equal(words[0].T[1..].Where(w => !shapeWords.Contains(w)), words[0].N[1..].Where(w => !shapeWords.Contains(w)));
                        break;
                    case HardNegatives.Change.ShapesSwapped:
                        Assert.Equal(2, differ.Count);
                        Assert.Equal(words[0].T[0], words[1].N[0]);
                        Assert.Equal(words[1].T[0], words[0].N[0]);
                        foreach (var (t, n) in words) Assert.Equal(t.Skip(1).Where(w => !shapeWords.Contains(w)), n.Skip(1).Where(w => !shapeWords.Contains(w)));
                        break;
                    case HardNegatives.Change.DepthMoved:
                        Assert.Single(differ);
                        var (td, nd) = (words[0].T[^1], words[0].N[^1]);
                        Assert.Equal(words[0].T[..^1], words[0].N[..^1]);
                        int moved = Math.Abs(int.Parse(td[1..]) - int.Parse(nd[1..]));
                        Assert.InRange(moved, 1, 3);
                        Assert.True(int.Parse(nd[1..]) >= 0);
                        break;
                }
            }
        }
        Assert.Equal(3, seen.Count);
    }

    [Fact]
    public void PoolIsSeededAndClipPairsGetOnePoolPerImage()
    {
        var world = FoundationFixture.World;
        var tok = FoundationFixture.Tokenizer;
        var scenes = world.Scenes("pt");
        int size = world.Manifest.Config.ImageSize;
        var objects = scenes.Select(s => s.Objects).ToList();
        Assert.Equal(HardNegatives.Pool(objects, size, 4, 7), HardNegatives.Pool(objects, size, 4, 7));
        Assert.NotEqual(HardNegatives.Pool(objects, size, 4, 7), HardNegatives.Pool(objects, size, 4, 8));

        using var pairs = ClipPairs.FromCaptionData(LlavaDataset.Load(world.PtJson), tok, 64).WithHardNegatives(scenes, size, tok, 64, 4, 7);
        Assert.Equal(pairs.Count, pairs.NegativeIds!.Count);
        for (int i = 0; i < pairs.Count; i++)
        {
            Assert.Equal(4, pairs.NegativeIds[i].Length);
            Assert.All(pairs.NegativeIds[i], n => Assert.NotEqual(pairs.CaptionIds[i], n));
        }
        // An image without a scene is named, not skipped.
        using var more = ClipPairs.FromCaptionData(LlavaDataset.Load(world.PtJson), tok, 64);
        var ex = Assert.Throws<InvalidDataException>(() => more.WithHardNegatives(scenes.Skip(1).ToList(), size, tok, 64, 2, 7));
        Assert.Contains(scenes[0].Image, ex.Message);
    }

    [Fact]
    public void HardNegativesJoinTheImageToTextSideOnly()
    {
        using var scope = NewDisposeScope();
        manual_seed(1).Dispose();
        var img = nn.functional.normalize(randn(6, 8), dim: -1);
        var txt = nn.functional.normalize(randn(6, 8), dim: -1);
        var scale = tensor(MathF.Log(10));
        double plain = ClipLoss.Compute(img, txt, scale).item<float>();
        // Negatives only add candidates: the loss cannot fall. One that each image prefers to its own caption
        // (the image itself) raises it far more than random ones.
        double close = ClipLoss.Compute(img, txt, scale, img.clone()).item<float>();
        double random = ClipLoss.Compute(img, txt, scale, nn.functional.normalize(randn(6, 8), dim: -1)).item<float>();
        Assert.True(random >= plain, $"plain {plain:F3}, random negatives {random:F3}");
        Assert.True(close > random + 0.3, $"random negatives {random:F3}, close negatives {close:F3}");
        // The text→image half is untouched: half the loss difference is on the image side alone.
        var s = scale.exp();
        var logits = img.matmul(txt.t()) * s;
        var target = arange(6);
        double i2t = nn.functional.cross_entropy(cat([logits, img.matmul(img.t()) * s], 1), target).item<float>();
        double t2i = nn.functional.cross_entropy(logits.t(), target).item<float>();
        Assert.Equal((i2t + t2i) / 2, close, 1e-4);
        Assert.Throws<OlaVlm.Core.ShapeMismatchException>(() => ClipLoss.Compute(img, txt, scale, randn(3, 5)));
    }
}
