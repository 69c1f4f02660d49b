using OlaVlm.World;

namespace OlaVlm.Tests.World;

public class SceneTests
{
    static readonly WorldConfig Cfg = new();

    [Fact]
    public void SameSeedGivesIdenticalScenesAndDifferentSeedsDiffer()
    {
        var g = new SceneGenerator(Cfg);
        var a = g.Generate(42, "a"); var b = new SceneGenerator(Cfg).Generate(42, "a"); var c = g.Generate(43, "c");
        Assert.Equal(a.Rgb, b.Rgb); Assert.Equal(a.Depth, b.Depth); Assert.Equal(a.Seg, b.Seg);
        Assert.Equal(a.Objects, b.Objects);
        Assert.NotEqual(a.Rgb, c.Rgb);
    }

    [Fact]
    public void EveryPixelIsTheFrontMostSurfaceOfAnIndependentRayCast()
    {
        var g = new SceneGenerator(Cfg);
        int checkedPixels = 0, objectPixels = 0;
        for (ulong seed = 0; seed < 12; seed++)
        {
            var s = g.Generate(seed, $"s{seed}");
            for (int py = 0; py < s.Height; py++)
            for (int px = 0; px < s.Width; px++)
            {
                var hit = RayOracle.Cast(Cfg, s.Objects, px, py);
                if (hit.Margin < 1e-6) continue;   // an exact tie (silhouette on silhouette): either is right
                int i = py * s.Width + px;
                Assert.True(hit.Class == s.Seg[i], $"seed {seed} pixel ({px},{py}): class {s.Seg[i]}, oracle {hit.Class}");
                Assert.True(Math.Abs(hit.Depth - s.Depth[i]) <= 1e-4 * Math.Max(1, hit.Depth), $"seed {seed} pixel ({px},{py}): depth {s.Depth[i]}, oracle {hit.Depth}");
                Assert.Equal(hit.Object + 1, s.Instance[i]);
                checkedPixels++;
                if (hit.Object >= 0) objectPixels++;
            }
        }
        Assert.True(checkedPixels > 12 * 64 * 64 * 0.99, $"only {checkedPixels} pixels compared");
        Assert.True(objectPixels > 500, $"only {objectPixels} object pixels: the scenes are nearly empty");
    }

    [Fact]
    public void ObjectListMatchesThePixels()
    {
        var g = new SceneGenerator(Cfg);
        for (ulong seed = 100; seed < 140; seed++)
        {
            var s = g.Generate(seed, "x");
            Assert.InRange(s.Objects.Count, Cfg.MinObjects, Cfg.MaxObjects);
            Assert.Equal(s.Objects.Count, s.Objects.Select(o => o.Name).Distinct().Count());
            for (int k = 0; k < s.Objects.Count; k++)
            {
                var o = s.Objects[k];
                var mine = Enumerable.Range(0, s.Width * s.Height).Where(i => s.Instance[i] == k + 1).ToList();
                Assert.Equal(mine.Count, o.VisiblePixels);
                Assert.True(o.VisiblePixels >= Cfg.MinVisiblePixels, $"seed {seed}: {o.Name} shows {o.VisiblePixels} pixels");
                Assert.Equal(mine.Min(i => i % s.Width), o.Box.X0); Assert.Equal(mine.Max(i => i % s.Width) + 1, o.Box.X1);
                Assert.Equal(mine.Min(i => i / s.Width), o.Box.Y0); Assert.Equal(mine.Max(i => i / s.Width) + 1, o.Box.Y1);
                Assert.All(mine, i => Assert.Equal((byte)Shapes.Class(o.Shape), s.Seg[i]));
            }
        }
    }

    [Fact]
    public void PerspectiveMakesFartherObjectsSmallerAndHigher()
    {
        // The same large sphere at 4 m and at 8 m: the far one covers fewer pixels and sits nearer the horizon.
        var cam = Camera.From(Cfg);
        SceneObject Sphere(double z) => new(ShapeKind.Sphere, "red", SizeKind.Large, new Vec3(0, 0, z), 0, 0.55);
        var near = Renderer.Render("n", 0, cam, [Sphere(4)], Cfg.FarDepth).Objects[0];
        var far = Renderer.Render("f", 0, cam, [Sphere(8)], Cfg.FarDepth).Objects[0];
        Assert.True(far.VisiblePixels < near.VisiblePixels / 2, $"{far.VisiblePixels} vs {near.VisiblePixels}");
        Assert.True(far.Box.CenterY < near.Box.CenterY);
        Assert.True(far.Box.CenterY > cam.HorizonV);
    }

    [Fact]
    public void NearObjectOccludesFarObject()
    {
        var cam = Camera.From(Cfg);
        var far = new SceneObject(ShapeKind.Cube, "blue", SizeKind.Small, new Vec3(0, 0, 8), 0, 0.35);
        var near = new SceneObject(ShapeKind.Sphere, "red", SizeKind.Large, new Vec3(0, 0, 4), 0, 0.55);
        int alone = Renderer.Render("a", 0, cam, [far], Cfg.FarDepth).Objects[0].VisiblePixels;
        foreach (var order in new[] { new[] { far, near }, new[] { near, far } })
        {
            var s = Renderer.Render("o", 0, cam, order, Cfg.FarDepth);
            var f = s.Objects.First(o => o.Shape == ShapeKind.Cube);
            Assert.True(f.VisiblePixels < alone, $"cube shows {f.VisiblePixels} of {alone} pixels behind the sphere");
            // drawing order does not matter: wherever the cube shows, it is the cube's own (far) surface
            for (int i = 0; i < s.Seg.Length; i++)
                if (s.Instance[i] != 0 && s.Objects[s.Instance[i] - 1].Shape == ShapeKind.Cube)
                    Assert.True(s.Depth[i] > 7);
        }
    }

    [Fact]
    public void DepthAndSegRoundTripThroughFiles()
    {
        var s = new SceneGenerator(Cfg).Generate(7, "rt");
        var dir = Directory.CreateTempSubdirectory("world-rt").FullName;
        SceneFiles.WriteDepth(s, Path.Combine(dir, "d.npy")); SceneFiles.WriteSeg(s, Path.Combine(dir, "s.png"));
        var d = Npy.ReadFloat16(Path.Combine(dir, "d.npy"), out int rows, out int cols);
        Assert.Equal((64, 64), (rows, cols));
        for (int i = 0; i < d.Length; i++) Assert.True(Math.Abs(d[i] - s.Depth[i]) <= 0.001 * s.Depth[i] + 1e-3);
        Assert.Equal(s.Seg, SceneFiles.ReadSeg(Path.Combine(dir, "s.png"), out _, out _));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void LargerImagesWork()
    {
        var cfg = new WorldConfig { ImageSize = 224 };
        var s = new SceneGenerator(cfg).Generate(3, "big");
        Assert.Equal(224 * 224, s.Seg.Length);
        Assert.Contains((byte)SegClass.Sky, s.Seg); Assert.Contains((byte)SegClass.Floor, s.Seg);
        Assert.All(s.Objects, o => Assert.True(o.VisiblePixels >= cfg.MinVisiblePixels));
    }
}
