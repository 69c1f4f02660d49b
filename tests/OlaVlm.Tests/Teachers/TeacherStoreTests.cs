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
}
