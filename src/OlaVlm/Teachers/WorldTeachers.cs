using OlaVlm.Core;
using OlaVlm.Data;
using OlaVlm.Ola;
using OlaVlm.Teachers;
using OlaVlm.World;
using static TorchSharp.torch;


namespace OlaVlm.Teachers;

/// The miniature world as seen by the teachers: labelled teacher data from a split's scenes, and target
/// sources (cached or on the fly) keyed by the image paths the LLaVA json files use, so a ConversationBatch's
/// ImageKeys fetch their targets directly.
public static class WorldTeachers
{
    /// Mini teachers read pixels scaled to [-1, 1] (as Teachers.SyntheticScenes), not CLIP-normalised.
    public static Normalization TeacherNorm { get; } = new([0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f]);

    /// Images, depth and class maps of a world split ("pt", "ift", "val"), for training/evaluating teachers.
    public static TeacherData Data(WorldData world, string split, int? limit = null)
    {
        var scenes = world.Scenes(split).Take(limit ?? int.MaxValue).ToList();
        if (scenes.Count == 0) throw new ArgumentException($"WorldTeachers: split '{split}' of {world.Root} has no scenes");
        var imgs = scenes.Select(world.Image).ToList();
        try
        {
            int size = imgs[0].Width;
            var images = ImageTensors.FromImages(imgs, size, CPU, TeacherNorm);
            var depth = ImageTensors.FromDepth(scenes.Select(world.Depth).ToList(), size, size, CPU).squeeze(1);
            var seg = ImageTensors.FromSeg(scenes.Select(world.Seg).ToList(), size, size, CPU);
            return new TeacherData(images, depth, seg);
        }
        finally { foreach (var i in imgs) i.Dispose(); }
    }

    /// The three mini teachers trained on the world's PT scenes (scored on val), each cached by
    /// TeacherStore under <world>/teachers and reused while config, training knobs and data are unchanged.
    /// trainLimit: use only the first scenes of pt (quick profile). shipped: also look in that folder (default
    /// data/teachers, ShippedDir; "" = never) for teachers trained with the same config, knobs and data before
    /// training (TeacherStore.LoadOrTrain); dir: where trained teachers go (default <world>/teachers).
    public static IReadOnlyList<StoredTeacher> LoadOrTrain(WorldData world, TeacherTrainConfig train, int? trainLimit = null,
                                                          Device? device = null, Action<string>? log = null, string? shipped = null,
                                                          string? dir = null)
    {
        // Decoded only if some teacher has to be trained; the key stands for the data (the world is a pure
        // function of its config), so reloading trained teachers reads no images.
        TeacherData? data = null, val = null;
        string key = DataKey(world.Manifest.Config, trainLimit);
        dir ??= Path.Combine(world.Root, "teachers");
        shipped ??= ShippedDir;
        return Configs(world.Manifest.Config.ImageSize).Select(c => TeacherStore.LoadOrTrain(c.Kind, c, () => data ??= Data(world, "pt", trainLimit), key, dir,
            train, () => val ??= Data(world, "val"), device, log, shipped == "" ? null : shipped)).ToList();
    }

    /// Trains the default profile's three teachers from scratch (in a fresh folder under out/, so nothing cached is
    /// reused) and ships them to `dest` with their SHA-256 manifest: what environment/pretrain-teachers.sh runs.
    public static IReadOnlyList<StoredTeacher> TrainAndShip(WorldData world, string dest, Device? device = null, Action<string>? log = null)
    {
        var scratch = Core.Paths.OutDir("teachers-pretrain", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss"));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var train = new TeacherTrainConfig();
        var stored = LoadOrTrain(world, train, device: device, log: log, shipped: "", dir: scratch);
        var about = new System.Text.Json.Nodes.JsonObject
        {
            ["made by"] = "environment/pretrain-teachers.sh (OlaCheck teachers)",
            ["world"] = MiniWorld.ConfigHash(world.Manifest.Config),
            ["train"] = System.Text.Json.Nodes.JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(train)),
            ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 1),
        };
        TeacherStore.Ship(stored, dest, about);
        return stored;
    }

    /// What a teacher's training data is keyed by: the world's config hash, the split and the limit.
    public static string DataKey(WorldConfig config, int? trainLimit) => $"world {MiniWorld.ConfigHash(config)} pt limit {trainLimit?.ToString() ?? "all"}";

    /// The default profile's three teachers, trained once and shipped with the repository (environment/pretrain-teachers.sh),
    /// as the foundations are: the main job then loads them instead of spending 1.5 minutes training them.
    public static string ShippedDir => Path.Combine(Core.Paths.Data, "teachers");

    /// The three mini teachers' configs for world images of `imageSize` pixels (segmentation over the world's classes).
    public static TeacherConfig[] Configs(int imageSize) =>
    [
        DepthTeacherConfig.Miniature with { ImageSize = imageSize },
        SegTeacherConfig.Miniature with { ImageSize = imageSize, NumClasses = Enum.GetValues<SegClass>().Length },
        GenTeacherConfig.Miniature with { ImageSize = imageSize },
    ];

    /// The scene record behind a dataset image key ("val/images/val_000003.png"), or null.
    public static SceneRecord? Scene(WorldData world, string split, string imageKey) =>
        world.Scenes(split).FirstOrDefault(s => s.Image == imageKey);

    /// Cached targets of every teacher for the images of `dataset` (built once, reused while the teacher's
    /// weights hash and the image set are unchanged). dir default: <world>/targets.
    public static Dictionary<OlaTask, ITargetSource> Cached(IEnumerable<ITeacher> teachers, LlavaDataset dataset, ImageBank bank,
                                                           string split, string? dir = null, Action<string>? log = null) =>
        Cached(teachers, dataset, () => bank, split, dir, log);

    /// As above, with the images decoded only if a cache has to be built: a notebook reopened over finished
    /// caches never reads the PNGs (a reload takes seconds).
    public static Dictionary<OlaTask, ITargetSource> Cached(IEnumerable<ITeacher> teachers, LlavaDataset dataset, Func<ImageBank> bank,
                                                           string split, string? dir = null, Action<string>? log = null)
    {
        dir ??= Path.Combine(Path.GetDirectoryName(Path.GetFullPath(dataset.File))!, "targets");
        var keys = dataset.Records.Where(r => r.HasImage).Select(r => r.Image!).Distinct().ToList();
        var list = teachers.ToList();
        log?.Invoke(TargetPlan.Miniature(list.Select(t => t.TargetShape), keys.Count, dir).ToString());
        var result = new Dictionary<OlaTask, ITargetSource>();
        foreach (var t in list)
        {
            var cache = TargetCache.OpenOrBuild(t, Images(keys, bank), dir, split, log: log);
            var missing = keys.FirstOrDefault(k => !cache.Contains(k));
            if (missing is not null)
            {
                cache.Dispose();
                cache = TargetCache.Build(t, Images(keys, bank), dir, split);
            }
            result[TeacherTargets.Task(t.Kind)] = cache;
        }
        return result;
    }

    /// (key, [3, H, W]) in teacher normalisation, decoded 64 at a time (views of one chunk tensor).
    static IEnumerable<(string, Tensor)> Images(IReadOnlyList<string> keys, Func<ImageBank> getBank)
    {
        var bank = getBank();
        for (int start = 0; start < keys.Count; start += 64)
        {
            var part = keys.Skip(start).Take(64).ToList();
            var chunk = bank.Pixels(part.Select(bank.Row).ToList(), CPU, TeacherNorm);
            for (int i = 0; i < part.Count; i++) yield return (part[i], chunk[i]);
        }
    }

    /// Targets computed by the teachers at every request (no cache), images from `bank`.
    public static Dictionary<OlaTask, ITargetSource> OnTheFly(IEnumerable<ITeacher> teachers, ImageBank bank) =>
        teachers.ToDictionary(t => TeacherTargets.Task(t.Kind),
            t => (ITargetSource)new OnTheFlyTargets(t, ids => bank.Pixels(ids.Select(bank.Row).ToList(), t.Device, TeacherNorm)));
}
