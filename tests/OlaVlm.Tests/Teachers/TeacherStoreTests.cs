using System.Text.Json.Nodes;
using OlaVlm.Teachers;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers;

public sealed class TeacherStoreTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "ola-teachers-store-" + Guid.NewGuid().ToString("N"));
    static readonly TeacherData Data = SyntheticScenes.Generate(16, size: 32, numClasses: 4, seed: 3);
    static readonly TeacherTrainConfig Quick = new() { Steps = 4, BatchSize = 8, WarmupSteps = 1 };

    public void Dispose() { if (Directory.Exists(dir)) Directory.Delete(dir, true); }

    [Theory]
    [InlineData("Depth"), InlineData("Seg"), InlineData("Gen")]
    public void SaveLoadReproducesOutputs(string kind)
    {
        TeacherConfig cfg = kind switch { "Depth" => DepthTeacherConfig.Tiny, "Seg" => SegTeacherConfig.Tiny, _ => GenTeacherConfig.Tiny };
        using var t = MiniTeacher.Create(cfg, CPU);
        TeacherTrainer.Train(t, Data, 3, Quick);
        var path = Path.Combine(dir, t.Name + ".safetensors");
        t.Save(path);
        Assert.True(File.Exists(MiniTeacher.ConfigPath(path)));
        using var u = MiniTeacher.Load(path, CPU);
        Assert.Equal(t.WeightsHash, u.WeightsHash);
        var images = Data.Images.narrow(0, 0, 3);
        using var a = t.Encode(images); using var b = u.Encode(images);
        Assert.True(a.eq(b).all().item<bool>());
        using var da = t.Decode(a)!; using var db = u.Decode(b)!;
        Assert.True(da.eq(db).all().item<bool>());
    }

    [Fact]
    public void LoadChecksTheRecordedHash()
    {
        using var t = MiniTeacher.Create(SegTeacherConfig.Tiny, CPU);
        var path = Path.Combine(dir, "seg.safetensors");
        t.Save(path);
        var json = JsonNode.Parse(File.ReadAllText(MiniTeacher.ConfigPath(path)))!.AsObject();
        json["weightsHash"] = "0000deadbeef";
        File.WriteAllText(MiniTeacher.ConfigPath(path), json.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => MiniTeacher.Load(path, CPU));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void LoadOrTrainReusesOnlyWhenConfigAndDataMatch()
    {
        var cfg = DepthTeacherConfig.Tiny;
        var first = TeacherStore.LoadOrTrain(TeacherKind.Depth, cfg, Data, dir, Quick, val: Data, device: CPU);
        Assert.True(first.TrainedNow);
        Assert.NotNull(first.Score);
        var again = TeacherStore.LoadOrTrain(TeacherKind.Depth, cfg, Data, dir, Quick, device: CPU);
        Assert.False(again.TrainedNow);
        Assert.Equal(first.Teacher.WeightsHash, again.Teacher.WeightsHash);

        var otherCfg = TeacherStore.LoadOrTrain(TeacherKind.Depth, cfg with { HeadChannels = 16 }, Data, dir, Quick, device: CPU);
        Assert.True(otherCfg.TrainedNow);
        var otherData = SyntheticScenes.Generate(16, size: 32, numClasses: 4, seed: 4);
        Assert.True(TeacherStore.LoadOrTrain(TeacherKind.Depth, cfg, otherData, dir, Quick, device: CPU).TrainedNow);
        Assert.True(TeacherStore.LoadOrTrain(TeacherKind.Depth, cfg, otherData, dir, Quick with { Steps = 5 }, device: CPU).TrainedNow);
        foreach (var s in new[] { first, again, otherCfg }) s.Teacher.Dispose();
        Assert.Throws<ArgumentException>(() => TeacherStore.LoadOrTrain(TeacherKind.Seg, cfg, Data, dir, Quick, device: CPU));
    }

    [Fact]
    public void ShippedTeachersAreLoadedOnlyWhenTheyMatchAndTheirHashesVerify()
    {
        var cfg = SegTeacherConfig.Tiny;
        string trainedDir = Path.Combine(dir, "trained"), shipped = Path.Combine(dir, "shipped");
        var trained = TeacherStore.LoadOrTrain(TeacherKind.Seg, cfg, () => Data, "key-1", trainedDir, Quick, device: CPU);
        TeacherStore.Ship([trained], shipped);
        Assert.True(File.Exists(Path.Combine(shipped, TeacherStore.ManifestName)));
        TeacherStore.Ship([trained], shipped);                           // an earlier shipment is replaced
        var stranger = Directory.CreateDirectory(Path.Combine(dir, "not-teachers")).FullName;
        File.WriteAllText(Path.Combine(stranger, "notes.txt"), "keep me");
        Assert.Throws<IOException>(() => TeacherStore.Ship([trained], stranger));
        Assert.True(File.Exists(Path.Combine(stranger, "notes.txt")));

        // An empty store with the shipped folder beside it: loaded from there, not trained.
        var log = new List<string>();
        var fromShip = TeacherStore.LoadOrTrain(TeacherKind.Seg, cfg, () => throw new InvalidOperationException("must not need data"), "key-1",
                                                Path.Combine(dir, "empty1"), Quick, device: CPU, log: log.Add, shippedDir: shipped);
        Assert.True(fromShip.Shipped);
        Assert.False(fromShip.TrainedNow);
        Assert.Equal(trained.Teacher.WeightsHash, fromShip.Teacher.WeightsHash);

        // Trained for other data (the key stands for the world and split): trains instead, and says why.
        log.Clear();
        var otherKey = TeacherStore.LoadOrTrain(TeacherKind.Seg, cfg, () => Data, "key-2", Path.Combine(dir, "empty2"), Quick, device: CPU,
                                                log: log.Add, shippedDir: shipped);
        Assert.True(otherKey.TrainedNow);
        Assert.Contains(log, l => l.Contains("not using shipped") && l.Contains("data changed"));

        // A shipped file edited after shipping: its SHA-256 no longer verifies, so it stops, naming the file and how to
        // restore it (a shipped file is never trained over silently).
        var json = Path.Combine(shipped, cfg.DisplayName + ".json");
        File.AppendAllText(json, " ");
        var edited = Assert.Throws<ShippedFileException>(() => TeacherStore.LoadOrTrain(TeacherKind.Seg, cfg, () => Data, "key-1",
            Path.Combine(dir, "empty3"), Quick, device: CPU, shippedDir: shipped));
        Assert.Contains("SHA-256 differs", edited.Message);
        Assert.Equal(json, edited.File);
        foreach (var s in new[] { trained, fromShip, otherKey }) s.Teacher.Dispose();
    }

    [Fact]
    public void TheShippedTeachersMatchTheDefaultWorldAndVerify()
    {
        // data/teachers is what the main job loads instead of training: its manifest must name the default world
        // and every file's SHA-256 must hold (environment/pretrain-teachers.sh rewrites it after a teacher change).
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(WorldTeachers.ShippedDir, TeacherStore.ManifestName)))!;
        Assert.Equal(OlaVlm.World.MiniWorld.ConfigHash(new OlaVlm.World.WorldConfig()), manifest["world"]!.GetValue<string>());
        var hashes = manifest["sha256"]!.AsObject();
        Assert.Equal(6, hashes.Count);
        foreach (var (file, want) in hashes)
        {
            var bytes = File.ReadAllBytes(Path.Combine(WorldTeachers.ShippedDir, file));
            Assert.True(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes)).ToLowerInvariant() == want!.GetValue<string>(),
                        $"data/teachers/{file}: SHA-256 differs from teachers.json");
        }
        foreach (var cfg in WorldTeachers.Configs(new OlaVlm.World.WorldConfig().ImageSize))
        {
            var path = Path.Combine(WorldTeachers.ShippedDir, cfg.DisplayName + ".safetensors");
            var json = JsonNode.Parse(File.ReadAllText(MiniTeacher.ConfigPath(path)))!;
            Assert.Equal(cfg.ToJson(), TeacherConfig.FromJson(cfg.Kind, json["config"]!.ToJsonString()).ToJson());
            // Trained on the default world's whole PT split with the default knobs: what Workspace.Open asks for.
            Assert.Equal(WorldTeachers.DataKey(new OlaVlm.World.WorldConfig(), null), json["dataHash"]!.GetValue<string>());
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(new TeacherTrainConfig()), json["train"]!.ToJsonString());
            using var t = MiniTeacher.Load(path, CPU);   // checks the recorded weights hash
            Assert.Equal(json["weightsHash"]!.GetValue<string>(), t.WeightsHash);
        }
    }
}
