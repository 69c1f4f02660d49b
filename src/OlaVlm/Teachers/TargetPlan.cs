namespace OlaVlm.Teachers;

/// Where teacher targets come from: a TargetCache on disk, or the teachers run at every step (OnTheFlyTargets).
public enum TargetMode { Auto, Cache, OnTheFly }

/// The choice between cached and on-the-fly targets, made before anything is computed and said with its numbers.
/// A cache holds one fp16 row [tokens, dim] per image per teacher: at full scale 576×1024 (DAv2-L) + 576×1536
/// (OneFormer Swin-L) + 1×1024 (unCLIP) = 1,475,584 numbers, 2.95 MB an image, 1.65 TB for LLaVA-558K's 558,128 images
/// — more than a training machine's disk, and read once per epoch, so on the fly is the full-scale default: each
/// teacher's forward costs a few percent of the student's step (docs/full-scale.md). A subset (a record limit) is
/// cached when the cache fits in half the free disk space; the miniature always caches (TeacherStore).
public sealed record TargetPlan(TargetMode Mode, int Images, long CacheBytes, long FreeBytes, string Why)
{
    /// Bytes of one teacher's cache for `images` images: the 64-byte header, fp16 rows, and the index (ids and a
    /// 64-bit checksum per row as JSON; `idBytes` per id on average).
    public static long CacheFileBytes(long[] targetShape, int images, int idBytes = 32) =>
        64 + (long)images * targetShape[0] * targetShape[1] * 2 + (long)images * (idBytes + 24) + 256;

    /// Decides for `shapes` (one per teacher) and `images` images in `dir`. requested Cache or OnTheFly is
    /// honoured (Cache refused, naming the sizes, when it cannot fit the free space); Auto caches a subset that
    /// fits in half the free space and otherwise computes on the fly.
    public static TargetPlan Decide(IEnumerable<long[]> shapes, int images, bool subset, string dir, TargetMode requested = TargetMode.Auto)
    {
        var (bytes, free, size) = Size(shapes, images, dir);
        return requested switch
        {
            TargetMode.OnTheFly => new(TargetMode.OnTheFly, images, bytes, free, $"on the fly, as asked (a cache would be {size})"),
            TargetMode.Cache when bytes > free => throw new IOException($"TargetPlan: a target cache needs {size}; it does not fit (use on-the-fly targets)"),
            TargetMode.Cache => new(TargetMode.Cache, images, bytes, free, $"cached, as asked ({size})"),
            _ when !subset => new(TargetMode.OnTheFly, images, bytes, free, $"on the fly, the full-scale default (a cache would be {size})"),
            _ when bytes > free / 2 => new(TargetMode.OnTheFly, images, bytes, free, $"on the fly: a cache of this subset would take over half the free disk ({size})"),
            _ => new(TargetMode.Cache, images, bytes, free, $"cached, a subset that fits ({size})"),
        };
    }

    /// The miniature's plan: always a cache (TeacherStore builds it once per world and teacher; a few MB), said with
    /// its size like a full-scale plan, and refused like a requested cache when the disk cannot hold it.
    public static TargetPlan Miniature(IEnumerable<long[]> shapes, int images, string dir)
    {
        var (bytes, free, size) = Size(shapes, images, dir);
        if (bytes > free) throw new IOException($"TargetPlan: the miniature's target cache needs {size}; it does not fit");
        return new(TargetMode.Cache, images, bytes, free, $"cached, the miniature's default ({size})");
    }

    static (long Bytes, long Free, string Text) Size(IEnumerable<long[]> shapes, int images, string dir)
    {
        long bytes = shapes.Sum(s => CacheFileBytes(s, images));
        long free = FreeSpace(dir);
        return (bytes, free, $"{images:N0} images × {Mb(bytes / Math.Max(images, 1)):F3} MB = {Gb(bytes):F3} GB at fp16, {Gb(free):F1} GB free in {dir}");
    }

    static double Gb(long bytes) => bytes / 1e9;
    static double Mb(long bytes) => bytes / 1e6;

    /// Free bytes on the drive holding `dir` (its nearest existing parent).
    public static long FreeSpace(string dir)
    {
        var d = Path.GetFullPath(dir);
        while (!Directory.Exists(d) && Path.GetDirectoryName(d) is string parent) d = parent;
        return new DriveInfo(d).AvailableFreeSpace;
    }

    public override string ToString() => $"teacher targets: {Why}";
}
