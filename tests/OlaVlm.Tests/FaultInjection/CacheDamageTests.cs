using OlaVlm.Tests.Experiments;
using OlaVlm.Tests.Foundation;
using static TorchSharp.torch;

namespace OlaVlm.Tests.FaultInjection;

/// The caches under out/ carry hashes: a damaged one (truncated, a byte flipped) is reported and rebuilt to the same
/// result; what a killed build left is swept with a line. Shipped files under data/ are never rebuilt: damage stops
/// with a message that names the file and says how to restore it or retrain on purpose.
[Collection(SerialCollection.Name)]
public class CacheDamageTests : IDisposable
{
    readonly string _dir = Path.Combine(Paths.OutDir("test-fault"), "caches-" + Guid.NewGuid().ToString("N"));
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    static readonly Action<string>[] Hurts = [p => Damage.Truncate(p), p => Damage.Flip(p, 1), p => Damage.FlipRandom(p, 9)];

    [Fact]
    public void Probe_reply_and_ablation_caches_damaged_are_reported_and_computed_again()
    {
        var log = new List<string>();
        using var teacher = new PatchTeacher();
        var model = new TargetCarryingModel(teacher);
        var g = new Generator(7);
        using var images = new ProbeImages(randn(16, 3, 8, 8, generator: g), randn(8, 3, 8, 8, generator: g));
        var config = new LayerProbingConfig { TrainImages = 16, ValImages = 8, ExtractBatchSize = 8, Probe = new ProbeOptions { Epochs = 2, BatchSize = 8 } };
        var probes = Path.Combine(_dir, "probing");
        LayerProbingResult Probe() { manual_seed(3); return LayerProbing.Run(model, [teacher], images, config, CPU, probes, log.Add); }
        var want = Probe().Curve("patch").Cosines;

        var bench = BenchSet.Load(BenchEvaluationTests.WriteFixture(Path.Combine(_dir, "bench")));
        var answerer = new ScriptedAnswerer(p => $"({(char)('A' + p.Length % 3)})");
        var replies = Path.Combine(_dir, "replies");
        var wantReplies = BenchEvaluation.CachedReplies(answerer, bench, BenchConfig.Reference, blind: true, cacheDir: replies);

        int calls = 0;
        AblationResult Runner(AblationVariant v, int seed) { calls++; return new(v.Group, v.Name, seed, new Dictionary<string, double> { ["Overall"] = 0.25 * seed }); }
        var ablations = Path.Combine(_dir, "ablations");
        var variants = new[] { new AblationVariant("g", "a", OlaConfig.Miniature) };
        Ablations.Run(variants, [1, 2], Runner, "t", ablations, log: log.Add);

        foreach (var hurt in Hurts)
        {
            log.Clear();
            int probeCalls = model.Calls, answerCalls = answerer.Calls.Count, ablationCalls = calls;
            foreach (var file in Cached(probes).Concat(Cached(replies)).Concat(Cached(ablations).Take(1))) hurt(file);
            Assert.Equal(want, Probe().Curve("patch").Cosines);
            Assert.Equal(wantReplies, BenchEvaluation.CachedReplies(answerer, bench, BenchConfig.Reference, blind: true, cacheDir: replies));
            var sweep = Ablations.Run(variants, [1, 2], Runner, "t", ablations, log: log.Add);
            Assert.Equal([0.25, 0.5], sweep.Runs.Select(r => r.Metrics["Overall"]));
            Assert.True(model.Calls > probeCalls && answerer.Calls.Count > answerCalls && calls == ablationCalls + 1, "each damaged cache is computed again");
            Assert.Equal(2, log.Count(l => l.Contains("is damaged")));   // the probe and the ablation (the replies report to the console)
        }
    }

    [Fact]
    public void Target_cache_damaged_is_rebuilt_to_the_same_bytes_and_a_killed_build_is_swept()
    {
        using var teacher = new PatchTeacher();
        var g = new Generator(5);
        var images = Enumerable.Range(0, 10).Select(i => ($"img{i}", randn(3, 8, 8, generator: g))).ToList();
        var dir = Path.Combine(_dir, "targets");
        TargetCache.OpenOrBuild(teacher, images, dir, "pt").Dispose();
        var data = TargetCache.DataFile(dir, teacher.Name, "pt");
        var index = TargetCache.IndexFile(dir, teacher.Name, "pt");
        var bytes = File.ReadAllBytes(data);
        foreach (var (file, hurt) in Hurts.Select(h => (data, h)).Concat(Hurts.Take(2).Select(h => (index, h))))
        {
            hurt(file);
            var log = new List<string>();
            using var cache = TargetCache.OpenOrBuild(teacher, images, dir, "pt", log: log.Add);
            Assert.Contains(log, l => l.Contains("rebuilding") && l.Contains(Path.GetFileName(file).Split('.')[0]));
            Assert.Equal(bytes, File.ReadAllBytes(data));
        }
        // A build that was killed: its temporary file is left, named after a process that no longer runs.
        var stray = Path.Combine(dir, $".{Path.GetFileName(data)}.tmp-999999-{Guid.NewGuid():N}");
        File.WriteAllBytes(stray, new byte[100]);
        var swept = new List<string>();
        TargetCache.OpenOrBuild(teacher, images, dir, "pt", log: swept.Add).Dispose();
        Assert.False(File.Exists(stray));
        Assert.Contains(swept, l => l.Contains("removed 1 unfinished temporary item"));
    }

    [Theory]
    [InlineData("llm/model.safetensors")]
    [InlineData("clip/config.json")]
    [InlineData("foundation.json")]
    public void A_damaged_shipped_foundation_file_stops_naming_it_and_the_ways_on(string file)
    {
        var shipped = Copy(FoundationModels.ShippedDir, "foundation");
        Damage.FlipRandom(Path.Combine(shipped, file), seed: file.Length);
        var e = Assert.Throws<ShippedFileException>(() =>
            FoundationModels.LoadOrTrain(FoundationFixture.World, FoundationFixture.Tiny, CPU, dir: Path.Combine(_dir, "cache"), shippedDir: shipped));
        Assert.EndsWith(file, e.File.Replace('\\', '/'));
        Assert.Contains("git checkout -- ", e.Message);
        Assert.Contains("retrain = true", e.Message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "cache", "clip")));   // nothing was trained in its place
    }

    [Theory]
    [InlineData("seg-mini.safetensors")]
    [InlineData("depth-mini.json")]
    [InlineData("teachers.json")]
    public void A_damaged_shipped_teacher_file_stops_naming_it(string file)
    {
        var shipped = Copy(WorldTeachers.ShippedDir, "teachers");
        if (file == "teachers.json") Damage.Truncate(Path.Combine(shipped, file)); else Damage.FlipRandom(Path.Combine(shipped, file), seed: 4);
        var e = Assert.Throws<ShippedFileException>(() => WorldTeachers.LoadOrTrain(FoundationFixture.World, new TeacherTrainConfig { Steps = 2 }, trainLimit: 8,
                                                                                    device: CPU, shipped: shipped, dir: Path.Combine(_dir, "teachers")));
        Assert.Contains(file, e.Message);
        Assert.Contains("git checkout -- ", e.Message);
        Assert.Contains("OlaCheck -c Release -- teachers", e.Message);
    }

    [Fact]
    public void Foundation_and_teacher_caches_damaged_are_reported_and_trained_again_to_the_same_bytes()
    {
        var dir = Path.Combine(_dir, "models");
        FoundationModels.LoadOrTrain(FoundationFixture.World, FoundationFixture.Tiny, CPU, dir: dir, shippedDir: "").Dispose();
        string[] models = ["clip/model.safetensors", "llm/model.safetensors"];
        var want = models.Select(f => FileHash.Sha256(Path.Combine(dir, f))).ToList();
        foreach (var file in new[] { "llm/model.safetensors", "clip/run/metrics.jsonl", "tokenizer.json" })
        {
            Damage.FlipRandom(Path.Combine(dir, file), seed: 5);
            var log = new List<string>();
            FoundationModels.LoadOrTrain(FoundationFixture.World, FoundationFixture.Tiny, CPU, log.Add, dir: dir, shippedDir: "").Dispose();
            Assert.Contains(log, l => l.Contains("damaged") && l.Contains(file));
            Assert.Equal(want, models.Select(f => FileHash.Sha256(Path.Combine(dir, f))));
            Assert.Null(FoundationModels.VerifyHashes(dir));
        }

        var teachers = Path.Combine(_dir, "mini-teachers");
        IReadOnlyList<StoredTeacher> Teachers(List<string>? log = null) =>
            WorldTeachers.LoadOrTrain(FoundationFixture.World, new TeacherTrainConfig { Steps = 2 }, trainLimit: 8, device: CPU, log: log is null ? null : log.Add, shipped: "", dir: teachers);
        var first = Teachers().Select(t => t.Teacher.WeightsHash).ToList();
        Damage.FlipRandom(Path.Combine(teachers, "depth-mini.safetensors"), seed: 2);
        var tlog = new List<string>();
        var again = Teachers(tlog);
        Assert.Contains(tlog, l => l.Contains("depth-mini") && l.Contains("damaged"));
        Assert.Equal(first, again.Select(t => t.Teacher.WeightsHash));
    }

    static IEnumerable<string> Cached(string dir) =>
        Directory.GetFiles(dir, "*.json").Where(f => !TempFiles.IsTemporary(f)).Order();

    string Copy(string from, string name)
    {
        var to = Path.Combine(_dir, name);
        foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var dest = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(f, dest);
        }
        return to;
    }
}
