namespace OlaVlm.World;

/// Everything that decides the miniature world. Equal configs give byte-identical worlds, and the config's
/// hash names the output folder, so changing any knob writes a new world beside the old one.
public sealed record WorldConfig
{
    public ulong Seed { get; init; } = 1234;
    public int ImageSize { get; init; } = 64;
    public int MinObjects { get; init; } = 1;
    public int MaxObjects { get; init; } = 6;
    /// Every object of a scene has its own colour, so "the red object" names one object and a question's
    /// referring expression is found by one token (look-ups must be learnable before comparisons).
    /// Off: only (colour, shape) pairs are unique, as in CLEVR.
    public bool UniqueColors { get; init; } = true;

    // Split sizes (scenes for pt/ift/val, items for bench; each bench item has its own scene).
    public int PtScenes { get; init; } = 8000;
    public int IftScenes { get; init; } = 8000;
    public int ValScenes { get; init; } = 500;
    public int BenchItems { get; init; } = 1000;
    /// Fraction of ift conversations that are text-only (no image), so batches mix both kinds.
    public double TextOnlyFraction { get; init; } = 0.1;
    /// Share of one-hop turns kept in the benchmark pool (ift.json) after the curriculum's one-hop phase.
    public double OneHopShare { get; init; } = 0.2;
    /// Share of whole-scene "Describe the image." turns in both instruction pools.
    public double DescribeShare { get; init; } = 0.05;

    // Camera: a pinhole above the floor, tilted down so the horizon sits in the upper part of the image.
    public double CameraHeight { get; init; } = 2.0;
    public double PitchDegrees { get; init; } = 15.0;
    public double FovDegrees { get; init; } = 50.0;
    /// Depth given to the sky and the ceiling for the far floor: depth = min(camera z, FarDepth).
    public float FarDepth { get; init; } = 30f;

    // Layout: objects stand on the floor between these forward distances.
    public double MinZ { get; init; } = 3.0;
    public double MaxZ { get; init; } = 9.5;
    /// A layout is resampled when an object shows fewer pixels than this fraction of the image
    /// (with a floor of 6 pixels), so every object can be counted and named.
    public double MinVisibleFraction { get; init; } = 0.0015;

    /// The CI preset: tiny splits, same world rules.
    public static WorldConfig Quick { get; } = new()
    {
        PtScenes = 120, IftScenes = 120, ValScenes = 40, BenchItems = 120,
    };

    public int MinVisiblePixels => Math.Max(6, (int)Math.Round(MinVisibleFraction * ImageSize * ImageSize));

    public void Validate()
    {
        if (ImageSize < 16 || ImageSize > 1024) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "WorldConfig.ImageSize must be 16..1024");
        if (MinObjects < 1 || MaxObjects < MinObjects || MaxObjects > 12)
            throw new ArgumentOutOfRangeException(nameof(MaxObjects), $"WorldConfig needs 1 <= MinObjects ({MinObjects}) <= MaxObjects ({MaxObjects}) <= 12");
        if (UniqueColors && MaxObjects > Shapes.Colors.Length)
            throw new ArgumentOutOfRangeException(nameof(MaxObjects), MaxObjects, $"WorldConfig.UniqueColors needs MaxObjects <= {Shapes.Colors.Length} (one colour each)");
        if (MaxObjects < 4) throw new ArgumentOutOfRangeException(nameof(MaxObjects), MaxObjects, "WorldConfig.MaxObjects must be >= 4 (count questions ask 0..4)");
        if (PtScenes < 0 || IftScenes < 0 || ValScenes < 0 || BenchItems < 0) throw new ArgumentOutOfRangeException(nameof(PtScenes), "WorldConfig split sizes must be >= 0");
        if (MinZ <= 1 || MaxZ <= MinZ) throw new ArgumentOutOfRangeException(nameof(MinZ), $"WorldConfig needs 1 < MinZ ({MinZ}) < MaxZ ({MaxZ})");
    }
}
