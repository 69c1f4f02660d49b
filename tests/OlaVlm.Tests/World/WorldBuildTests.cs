using OlaVlm.World;

namespace OlaVlm.Tests.World;

public class WorldBuildTests
{
    static readonly WorldConfig Tiny = WorldConfig.Quick with { PtScenes = 24, IftScenes = 30, ValScenes = 8, BenchItems = 40 };

    static string TempRoot() => Directory.CreateTempSubdirectory("world-build").FullName;

    [Fact]
    public void SameConfigGivesByteIdenticalFiles()
    {
        string a = TempRoot(), b = TempRoot();
        var wa = MiniWorld.Build(Tiny, a); var wb = MiniWorld.Build(Tiny, b);
        Assert.Equal(wa.Manifest.Files, wb.Manifest.Files);
        foreach (var f in wa.Manifest.Files)
            Assert.True(File.ReadAllBytes(Path.Combine(a, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(b, f))), $"{f} differs");
        Assert.Equal(File.ReadAllText(Path.Combine(a, "manifest.json")), File.ReadAllText(Path.Combine(b, "manifest.json")));
        Directory.Delete(a, true); Directory.Delete(b, true);
    }

    [Fact]
    public void ManifestIsReusedAndAMissingFileTriggersARebuild()
    {
        string root = TempRoot();
        var w = MiniWorld.Build(Tiny, root);
        var victim = Path.Combine(root, "ift", "images", "ift_000003.png");
        var stamp = File.GetLastWriteTimeUtc(victim);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        MiniWorld.Build(Tiny, root);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(victim));   // nothing rewritten
        File.Delete(victim);
        MiniWorld.Build(Tiny, root);
        Assert.True(File.Exists(victim));
        // a changed config names a different folder
        Assert.NotEqual(MiniWorld.ConfigHash(Tiny), MiniWorld.ConfigHash(Tiny with { Seed = Tiny.Seed + 1 }));
        Assert.Equal(MiniWorld.ConfigHash(Tiny), MiniWorld.ConfigHash(Tiny with { }));
        Directory.Delete(root, true);
    }

    [Fact]
    public void SplitsAreDisjointAndFilesLoad()
    {
        string root = TempRoot();
        var w = MiniWorld.Build(Tiny, root);
        var seeds = new[] { "pt", "ift", "val", "bench" }.ToDictionary(s => s, s => w.Scenes(s).Select(r => r.Seed).ToHashSet());
        foreach (var x in seeds) foreach (var y in seeds)
            if (x.Key != y.Key) Assert.Empty(x.Value.Intersect(y.Value));
        Assert.Equal(Tiny.PtScenes, seeds["pt"].Count);

        var pt = LlavaDataset.Load(w.PtJson);
        Assert.Equal(Tiny.PtScenes, pt.Records.Count);
        Assert.All(pt.Records, r => Assert.True(File.Exists(pt.ImagePath(r))));
        var ift = LlavaDataset.Load(w.IftJson);
        var stats = DatasetStats.Of(ift);
        Assert.Equal((int)Math.Round(Tiny.TextOnlyFraction * Tiny.IftScenes), stats.TextOnly);
        Assert.Equal(Tiny.IftScenes, stats.WithImage);
        Assert.True(stats.DistinctWords < 150, $"vocabulary of {stats.DistinctWords} words is not small");

        var bench = CvBench.Load(w.BenchJsonl);
        Assert.Equal(Tiny.BenchItems, bench.Count);
        using var img = ImageLoader.Load(CvBench.ImagePath(w.BenchJsonl, bench[0]));
        Assert.Equal(Tiny.ImageSize, img.Width);

        // seg file agrees with the object list: each class covers exactly its objects' visible pixels
        var rec = w.Scenes("val")[0];
        var seg = SceneFiles.ReadSeg(Path.Combine(root, rec.Seg!), out _, out _);
        foreach (var k in Shapes.All)
            Assert.Equal(rec.Objects.Where(o => o.Shape == k).Sum(o => o.VisiblePixels), seg.Count(c => c == (byte)Shapes.Class(k)));
        var depth = w.Depth(rec);
        using (var image = w.Image(rec)) Assert.Equal(Tiny.ImageSize, image.Height);
        Assert.Equal(seg, w.Seg(rec));
        Assert.Equal(Tiny.FarDepth, depth[0]);   // top-left pixel is sky
        Directory.Delete(root, true);
    }
}
