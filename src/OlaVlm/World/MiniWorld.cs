using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OlaVlm.Core;

namespace OlaVlm.World;

/// Where one scene's files are (paths relative to the world root) and what it contains.
public sealed record SceneRecord(string Id, ulong Seed, string Image, string? Depth, string? Seg, IReadOnlyList<SceneObject> Objects);

/// What MiniWorld.Build wrote and where; every path is under Root.
public sealed record WorldManifest(string GeneratorVersion, ulong Seed, WorldConfig Config, IReadOnlyDictionary<string, int> Sizes, IReadOnlyList<string> Files);

/// A built world on disk.
public sealed record WorldData(string Root, WorldManifest Manifest)
{
    public string PtJson => Path.Combine(Root, "pt.json");
    public string IftJson => Path.Combine(Root, "ift.json");
    /// The curriculum's first instruction pool: one-hop grounding questions only.
    public string IftOneHopJson => Path.Combine(Root, "ift_onehop.json");
    public string ValJson => Path.Combine(Root, "val.json");
    public string BenchJsonl => Path.Combine(Root, "bench", "bench.jsonl");
    public string ObjectsJson(string split) => Path.Combine(Root, split, "objects.json");
    /// A scene's image, depth map ([H*W], metres) and segmentation ids, read back from its files.
    public SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24> Image(SceneRecord r) => ImageLoader.Load(Path.Combine(Root, r.Image));
    public float[] Depth(SceneRecord r) => Npy.ReadFloat16(Path.Combine(Root, r.Depth ?? throw new InvalidOperationException($"scene {r.Id} has no depth file")), out _, out _);
    public byte[] Seg(SceneRecord r) => SceneFiles.ReadSeg(Path.Combine(Root, r.Seg ?? throw new InvalidOperationException($"scene {r.Id} has no seg file")), out _, out _);

    public IReadOnlyList<SceneRecord> Scenes(string split) =>
        Core.JsonFile.Deserialize<List<SceneRecord>>(ObjectsJson(split), MiniWorld.Json);
}

/// Builds the miniature world: pt (captions), ift (instructions + text-only), val (instructions) and bench
/// (CV-Bench-style multiple choice), each from its own seed stream so no scene is shared between splits.
/// The output folder is named after a hash of the config and generator version; an existing world whose
/// manifest matches and whose files are all present is reused instead of regenerated.
public static class MiniWorld
{
    /// Bump when anything changes what the generator writes (docs/history.md lists the versions).
    public const string GeneratorVersion = "world-5";
    public const long PtSplit = 0, IftSplit = 1, ValSplit = 2, BenchSplit = 3, BenchTrainSplit = 4;

    // camelCase for our own records, string enums, and "<image>" written as is (not \u003C) so files read like LLaVA's.
    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false, PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };
    static readonly JsonSerializerOptions Indented = new(Json) { WriteIndented = true };

    public static string ConfigHash(WorldConfig config)
    {
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(GeneratorVersion + JsonSerializer.Serialize(config, Json)));
        return Convert.ToHexString(bytes)[..12].ToLowerInvariant();
    }

    /// Hash of the world's rules alone (generator, image, camera, objects), without split sizes or data mix:
    /// what the foundation models depend on, so the quick and the default world share shipped foundations.
    public static string RulesHash(WorldConfig config) =>
        ConfigHash(config with { PtScenes = 0, IftScenes = 0, ValScenes = 0, BenchItems = 0, TextOnlyFraction = 0, OneHopShare = 0, DescribeShare = 0 });

    public static WorldData Build(WorldConfig config, string? root = null, Action<string>? log = null)
    {
        config.Validate();
        root ??= Paths.OutDir("world", ConfigHash(config));
        var existing = TryReuse(root, config);
        if (existing != null) { log?.Invoke($"world: reusing {root}"); return existing; }

        var sw = System.Diagnostics.Stopwatch.StartNew();
        var files = new List<string>();
        var gen = new SceneGenerator(config);
        var sizes = new Dictionary<string, int>();

        var pt = WriteSplit(root, "pt", PtSplit, config.PtScenes, gen, files);
        WriteJson(root, "pt.json", pt.Select(s => Captions.Record(s.Scene, s.Image)).ToList(), files);

        // Two instruction pools over the same IFT scenes, for the curriculum: one-hop first, then comparisons.
        var ift = WriteSplit(root, "ift", IftSplit, config.IftScenes, gen, files);
        int textOnly = Math.Min((int)Math.Round(config.TextOnlyFraction * config.IftScenes), ift.Count);
        foreach (var (file, oneHop, stream) in new[] { ("ift_onehop.json", true, 3L), ("ift.json", false, 1L) })
        {
            var records = ift.Select(s => Instructions.Conversation(s.Scene, s.Image, new Rng(Rng.Derive(s.Scene.Seed, stream)), oneHop, config)).ToList();
            records.AddRange(Enumerable.Range(0, textOnly).Select(k =>
                Instructions.TextOnly(ift[k].Scene, $"ift_text_{k:D6}", new Rng(Rng.Derive(ift[k].Scene.Seed, stream + 1)), oneHop, config)));
            new Rng(Rng.Derive(config.Seed, IftSplit, -stream)).Shuffle(records);
            WriteJson(root, file, records, files);
        }

        var val = WriteSplit(root, "val", ValSplit, config.ValScenes, gen, files);
        WriteJson(root, "val.json", val.Select(s => Instructions.Conversation(s.Scene, s.Image, TextRng(s.Scene), false, config)).ToList(), files);

        var bench = BenchmarkBuilder.Build(config, config.BenchItems, BenchSplit);
        Directory.CreateDirectory(Path.Combine(root, "bench"));
        Parallel.ForEach(bench, e =>
        {
            var path = Path.Combine(root, "bench", e.Item.Filename);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            SceneFiles.WriteImage(e.Scene, path);
        });
        files.AddRange(bench.Select(e => "bench/" + e.Item.Filename));
        File.WriteAllLines(Path.Combine(root, "bench", "bench.jsonl"), bench.Select(e => JsonSerializer.Serialize(e.Item, Json)));
        files.Add("bench/bench.jsonl");
        WriteJson(root, "bench/objects.json", bench.Select(e => new SceneRecord(e.Scene.Id, e.Scene.Seed, e.Item.Filename, null, null, e.Scene.Objects)).ToList(), files);

        sizes["pt"] = pt.Count; sizes["ift"] = ift.Count + textOnly; sizes["ift_text_only"] = textOnly;
        sizes["val"] = val.Count; sizes["bench"] = bench.Count;
        var manifest = new WorldManifest(GeneratorVersion, config.Seed, config, sizes, files);
        // Written last, via a temporary file: a half-built world never looks complete.
        var tmp = Path.Combine(root, "manifest.json.tmp");
        File.WriteAllText(tmp, JsonSerializer.Serialize(manifest, Indented));
        File.Move(tmp, Path.Combine(root, "manifest.json"), overwrite: true);
        log?.Invoke($"world: built {files.Count} files in {sw.Elapsed.TotalSeconds:F1} s at {root}");
        return new WorldData(root, manifest);
    }

    static WorldData? TryReuse(string root, WorldConfig config)
    {
        var path = Path.Combine(root, "manifest.json");
        if (!File.Exists(path)) return null;
        WorldManifest? m;
        try { m = JsonSerializer.Deserialize<WorldManifest>(File.ReadAllText(path), Json); }
        catch (JsonException) { return null; }   // a damaged manifest means: rebuild
        if (m == null || m.GeneratorVersion != GeneratorVersion || m.Config != config) return null;
        return m.Files.All(f => File.Exists(Path.Combine(root, f))) ? new WorldData(root, m) : null;
    }

    static Rng TextRng(Scene s) => new(Rng.Derive(s.Seed, 1));

    /// Generates and writes n scenes of one split (image, depth, seg) in parallel; results keep index order.
    public static List<(Scene Scene, string Image)> WriteSplit(string root, string split, long splitId, int n, SceneGenerator gen, List<string> files)
    {
        foreach (var sub in new[] { "images", "depth", "seg" }) Directory.CreateDirectory(Path.Combine(root, split, sub));
        var scenes = new (Scene, string)[n];
        Parallel.For(0, n, i =>
        {
            string id = $"{split}_{i:D6}";
            var s = gen.Generate(Rng.Derive(gen.Config.Seed, splitId, i), id);
            SceneFiles.WriteImage(s, Path.Combine(root, split, "images", id + ".png"));
            SceneFiles.WriteDepth(s, Path.Combine(root, split, "depth", id + ".npy"));
            SceneFiles.WriteSeg(s, Path.Combine(root, split, "seg", id + ".png"));
            scenes[i] = (s, $"{split}/images/{id}.png");
        });
        foreach (var (s, _) in scenes)
            files.AddRange([$"{split}/images/{s.Id}.png", $"{split}/depth/{s.Id}.npy", $"{split}/seg/{s.Id}.png"]);
        WriteJson(root, $"{split}/objects.json", scenes.Select(p => new SceneRecord(p.Item1.Id, p.Item1.Seed, p.Item2,
            $"{split}/depth/{p.Item1.Id}.npy", $"{split}/seg/{p.Item1.Id}.png", p.Item1.Objects)).ToList(), files);
        return scenes.ToList();
    }

    static void WriteJson<T>(string root, string rel, T value, List<string> files)
    {
        File.WriteAllText(Path.Combine(root, rel), JsonSerializer.Serialize(value, Json));
        files.Add(rel);
    }
}
