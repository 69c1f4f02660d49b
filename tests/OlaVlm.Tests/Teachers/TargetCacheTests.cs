using OlaVlm.Teachers;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers;

public sealed class TargetCacheTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "ola-teachers-cache-" + Guid.NewGuid().ToString("N"));
    static readonly Tensor Images = SyntheticScenes.Generate(10, size: 32, numClasses: 4, seed: 2).Images;

    public void Dispose() { if (Directory.Exists(dir)) Directory.Delete(dir, true); }

    static MiniTeacher Teacher(int seed = 0) => new DepthTeacher(DepthTeacherConfig.Tiny with { Seed = seed }, CPU);

    [Fact]
    public void RoundTripWithinFp16_InTheRequestedOrder()
    {
        using var t = Teacher();
        using var cache = TargetCache.Build(t, SyntheticScenes.WithIds(Images), dir, "train", batchSize: 4);
        Assert.Equal(10, cache.Count);
        string[] ids = ["img7", "img2", "img9", "img2"];
        using var got = cache.Get(ids, CPU);
        using var expected = t.Encode(Images.index_select(0, tensor(new long[] { 7, 2, 9, 2 })));
        Assert.Equal(ScalarType.Float32, got.dtype);
        Assert.Equal(expected.shape, got.shape);
        Assert.True(allclose(got, expected, rtol: 2e-3, atol: 2e-3), $"max diff {(got - expected).abs().max().item<float>()}");
        // Same rows as asking one at a time.
        using var one = cache.Get(["img9"], CPU);
        Assert.True(got[2].unsqueeze(0).eq(one).all().item<bool>());
        // On-the-fly targets agree with the cache.
        using var live = new OnTheFlyTargets(t, cache.ImageIds.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => Images[p.i]));
        using var fly = live.Get(ids, CPU);
        Assert.True(allclose(got, fly, rtol: 2e-3, atol: 2e-3));
    }

    [Fact]
    public void MissingIdNamesTheFileAndTheKey()
    {
        using var t = Teacher();
        using var cache = TargetCache.Build(t, SyntheticScenes.WithIds(Images), dir);
        var e = Assert.Throws<KeyNotFoundException>(() => cache.Get(["img1", "nope42"], CPU));
        Assert.Contains("nope42", e.Message);
        Assert.Contains(cache.IndexPath, e.Message);
    }

    [Fact]
    public void ChangedTeacherHashInvalidatesTheCache()
    {
        using var a = Teacher(seed: 0);
        TargetCache.Build(a, SyntheticScenes.WithIds(Images), dir).Dispose();
        using var b = Teacher(seed: 1); // same name, other weights
        Assert.NotEqual(a.WeightsHash, b.WeightsHash);
        var e = Assert.Throws<StaleTargetCacheException>(() => TargetCache.Open(b, dir));
        Assert.Contains(TargetCache.IndexFile(dir, b.Name, "train"), e.Message);
        using var rebuilt = TargetCache.OpenOrBuild(b, SyntheticScenes.WithIds(Images), dir);
        Assert.Equal(b.WeightsHash, rebuilt.TeacherHash);
        using var got = rebuilt.Get(["img3"], CPU);
        using var want = b.Encode(Images.narrow(0, 3, 1));
        Assert.True(allclose(got, want, rtol: 2e-3, atol: 2e-3));
        using var same = TargetCache.OpenOrBuild(b, Enumerable.Empty<(string, Tensor)>(), dir); // reused, not rebuilt
        Assert.Equal(10, same.Count);
    }

    [Fact]
    public void CorruptRowIsRefusedWhenOpenedNamingTheFileAndTheKey_AndRebuiltByOpenOrBuild()
    {
        using var t = Teacher();
        string data;
        using (var cache = TargetCache.Build(t, SyntheticScenes.WithIds(Images), dir)) data = cache.DataPath;
        using (var fs = new FileStream(data, FileMode.Open, FileAccess.ReadWrite))
        {
            long rowBytes = t.TargetShape[0] * t.TargetShape[1] * 2;
            fs.Position = 64 + 4 * rowBytes + 10; // inside img4's row
            int b = fs.ReadByte(); fs.Position--; fs.WriteByte((byte)(b ^ 0x5A));
        }
        // Every row's checksum is checked when the cache is opened: a damaged cache is refused as a whole, not mid-training.
        var e = Assert.Throws<InvalidDataException>(() => TargetCache.Open(t, dir));
        Assert.Contains("img4", e.Message);
        Assert.Contains(data, e.Message);
        var heard = new List<string>();
        using var reopened = TargetCache.OpenOrBuild(t, SyntheticScenes.WithIds(Images), dir, log: heard.Add);
        Assert.Contains(heard, m => m.Contains("rebuilding") && m.Contains("img4"));
        using var fine = reopened.Get(["img1", "img5"], CPU);
        Assert.Equal(2, fine.shape[0]);
    }

    [Fact]
    public void TruncatedOrMissingFilesAreClearErrors()
    {
        using var t = Teacher();
        string data;
        using (var cache = TargetCache.Build(t, SyntheticScenes.WithIds(Images), dir)) data = cache.DataPath;
        using (var fs = new FileStream(data, FileMode.Open, FileAccess.ReadWrite)) fs.SetLength(fs.Length - 7);
        var e = Assert.Throws<InvalidDataException>(() => TargetCache.Open(t, dir));
        Assert.Contains(data, e.Message);
        File.Delete(data);
        var m = Assert.Throws<FileNotFoundException>(() => TargetCache.Open(t, dir));
        Assert.Contains(data, m.Message);
    }

    [Fact]
    public void DuplicateIdsAreRejectedWhenBuilding()
    {
        using var t = Teacher();
        var e = Assert.Throws<ArgumentException>(() => TargetCache.Build(t, [("a", Images[0]), ("a", Images[1])], dir));
        Assert.Contains("'a'", e.Message);
    }

    /// A teacher that returns NaN for every image whose id is in `poisoned` (ids in build order).
    sealed class PoisonedTeacher(MiniTeacher inner, Func<int, bool> poisonImage) : ITeacher
    {
        int seen;
        public string Name => inner.Name;
        public TeacherKind Kind => inner.Kind;
        public long[] TargetShape => inner.TargetShape;
        public Device Device => inner.Device;
        public string WeightsHash => inner.WeightsHash;
        public Tensor? Decode(Tensor embedding) => inner.Decode(embedding);
        public void Dispose() { }
        public Tensor Encode(Tensor images)
        {
            var t = inner.Encode(images);
            for (int i = 0; i < images.shape[0]; i++, seen++)
                if (poisonImage(seen)) t[i].fill_(float.NaN);
            return t;
        }
    }

    [Fact]
    public void NonFiniteTeacherOutputIsAnErrorNamingTeacherBatchAndIds_NothingIsWritten()
    {
        using var t = Teacher();
        using var bad = new PoisonedTeacher(t, i => i is 5 or 6);
        var e = Assert.Throws<NonFiniteTargetException>(() => TargetCache.Build(bad, SyntheticScenes.WithIds(Images), dir, "train", batchSize: 4));
        Assert.Contains(t.Name, e.Message);
        Assert.Contains("batch 1", e.Message);        // images 4..7
        Assert.Contains("img5, img6", e.Message);
        Assert.DoesNotContain("img4", e.Message);
        Assert.Contains("input images were finite", e.Message);
        Assert.Empty(Directory.Exists(dir) ? Directory.GetFiles(dir) : []); // neither a cache nor a .tmp left
    }

    [Fact]
    public void OnTheFlyTargetsRefuseNonFiniteOutput()
    {
        using var t = Teacher();
        using var bad = new PoisonedTeacher(t, i => i == 1);
        using var live = new OnTheFlyTargets(bad, Enumerable.Range(0, 10).ToDictionary(i => $"img{i}", i => Images[i]));
        var e = Assert.Throws<NonFiniteTargetException>(() => live.Get(["img0", "img3"], CPU));
        Assert.Contains("img3", e.Message);
    }

    [Fact]
    public void ExistingCacheWithANonFiniteRowIsRefusedByOpenAndRebuiltByOpenOrBuild()
    {
        using var t = Teacher();
        string data;
        using (var cache = TargetCache.Build(t, SyntheticScenes.WithIds(Images), dir)) data = cache.DataPath;
        long rowBytes = t.TargetShape[0] * t.TargetShape[1] * 2;
        using (var fs = new FileStream(data, FileMode.Open, FileAccess.ReadWrite))
        {
            fs.Position = 64 + 6 * rowBytes + 2 * 3; // img6, fourth value: float16 NaN (0x7E00)
            fs.Write([0x00, 0x7E]);
        }
        var e = Assert.Throws<NonFiniteTargetException>(() => TargetCache.Open(t, dir));
        Assert.Contains("img6", e.Message);
        Assert.Contains(data, e.Message);
        var heard = new List<string>();
        using var rebuilt = TargetCache.OpenOrBuild(t, SyntheticScenes.WithIds(Images), dir, log: heard.Add);
        Assert.Contains(heard, m => m.Contains("rebuilding") && m.Contains("img6"));
        using var row = rebuilt.Get(["img6"], CPU);
        Assert.True(row.isfinite().all().item<bool>());
    }

    [Fact]
    public void CacheOfTheFormerFormatIsStaleAndRebuilt()
    {
        using var t = Teacher();
        string index;
        using (var cache = TargetCache.Build(t, SyntheticScenes.WithIds(Images), dir)) index = cache.IndexPath;
        File.WriteAllText(index, File.ReadAllText(index).Replace("\"Format\":2", "\"Format\":1"));
        var e = Assert.Throws<StaleTargetCacheException>(() => TargetCache.Open(t, dir));
        Assert.Contains("format 1", e.Message);
        using var rebuilt = TargetCache.OpenOrBuild(t, SyntheticScenes.WithIds(Images), dir);
        Assert.Equal(10, rebuilt.Count);
        Assert.Contains("\"Format\":2", File.ReadAllText(index));
    }
}
