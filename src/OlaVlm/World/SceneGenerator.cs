namespace OlaVlm.World;

/// Samples a layout of objects standing on the floor and renders it. Layouts where an object would be cut by
/// the image border or hidden (fewer visible pixels than the config's threshold) are resampled, so every
/// object in the list can be seen, counted and named. Colours (or, with UniqueColors off, (colour, shape)
/// pairs) are unique within a scene, so "the red cube" always names one object.
public sealed class SceneGenerator(WorldConfig config)
{
    public WorldConfig Config { get; } = config;
    public Camera Camera { get; } = Camera.From(config);
    const int MaxAttempts = 500;
    /// Layouts rendered so far (accepted + rejected), for measuring the rejection rate.
    public long RenderedLayouts => Interlocked.Read(ref _rendered);
    long _rendered;

    /// A scene fully determined by its seed. `exactCount` (used by the benchmark builder) forces exactly
    /// that many objects of one shape, so count answers can be balanced.
    public Scene Generate(ulong seed, string id, (ShapeKind Shape, int Count)? exactCount = null)
    {
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var rng = new Rng(Rng.Derive(seed, attempt));
            var objects = SampleLayout(rng, exactCount);
            if (objects == null) continue;
            if (objects.Any(o => !InsideImage(o))) continue;
            Interlocked.Increment(ref _rendered);
            var scene = Renderer.Render(id, seed, Camera, objects, Config.FarDepth);
            if (scene.Objects.All(o => o.VisiblePixels >= Config.MinVisiblePixels)) return scene;
        }
        throw new InvalidOperationException($"SceneGenerator: no valid layout for scene '{id}' (seed {seed}) after {MaxAttempts} attempts; " +
                                            "loosen MinVisibleFraction or MaxObjects");
    }

    List<SceneObject>? SampleLayout(Rng rng, (ShapeKind Shape, int Count)? exact)
    {
        int min = Config.MinObjects, max = Config.MaxObjects;
        if (exact is { } e) min = Math.Max(Math.Max(min, e.Count), 1);
        int n = rng.Next(min, max + 1);

        // Choose shapes: the forced shape exactly e.Count times, the others never that shape.
        var kinds = new List<ShapeKind>();
        for (int i = 0; i < n; i++)
        {
            if (exact is { } f)
                kinds.Add(i < f.Count ? f.Shape : rng.Pick(Shapes.All.Where(s => s != f.Shape).ToArray()));
            else kinds.Add(rng.Pick(Shapes.All));
        }
        rng.Shuffle(kinds);

        var objects = new List<SceneObject>();
        var used = new HashSet<(ShapeKind, string)>();
        foreach (var kind in kinds)
        {
            var freeColors = Shapes.Colors.Where(c => Config.UniqueColors ? used.All(u => u.Item2 != c.Name) : !used.Contains((kind, c.Name))).ToArray();
            var color = rng.Pick(freeColors).Name;
            used.Add((kind, color));
            var size = rng.Next(2) == 0 ? SizeKind.Small : SizeKind.Large;
            double r = Shapes.HalfExtent(size);
            SceneObject? placed = null;
            for (int tries = 0; tries < 30 && placed == null; tries++)
            {
                double z = Math.Round(rng.Uniform(Config.MinZ, Config.MaxZ), 4);
                // Horizontal half-width the camera sees at this distance, minus the object's width.
                double half = z * Camera.Width / 2.0 / Camera.Focal - r * 1.5;
                if (half <= 0) continue;
                double x = Math.Round(rng.Uniform(-half, half), 4);
                double yaw = kind == ShapeKind.Cube ? Math.Round(rng.Uniform(0, Math.PI / 2), 4) : 0;
                var cand = new SceneObject(kind, color, size, new Vec3(x, 0, z), yaw, r);
                if (objects.All(o => Footprint(o) + Footprint(cand) + 0.1 < Flat(o.Position - cand.Position))) placed = cand;
            }
            if (placed == null) return null;
            objects.Add(placed);
        }
        return objects;
    }

    static double Footprint(SceneObject o) => o.Shape == ShapeKind.Cube ? o.HalfExtent * Math.Sqrt(2) : o.HalfExtent;
    static double Flat(Vec3 v) => Math.Sqrt(v.X * v.X + v.Z * v.Z);

    bool InsideImage(SceneObject o)
    {
        var b = Renderer.ScreenBounds(Camera, o);   // conservative box, padded by one pixel
        return b.X0 > 0 && b.Y0 > 0 && b.X1 < Camera.Width && b.Y1 < Camera.Height;
    }
}
