using OlaVlm.Core;
using OlaVlm.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Training;

public class CheckpointTests
{
    [Fact]
    public void AtomicWriteLeavesNoPartialFileWhenTheWriterThrows()
    {
        var dir = Tiny.TempDir();
        var path = Path.Combine(dir, "model.safetensors");
        File.WriteAllText(path, "old and complete");
        void HalfThenFail(Stream s) { s.Write(new byte[1000]); throw new IOException("disk full (simulated)"); }

        Assert.Throws<IOException>(() => AtomicFile.Write(path, HalfThenFail));
        Assert.Equal("old and complete", File.ReadAllText(path));
        Assert.Throws<IOException>(() => AtomicFile.Write(Path.Combine(dir, "new.bin"), HalfThenFail));
        Assert.Equal(["model.safetensors"], Directory.GetFiles(dir).Select(Path.GetFileName)); // no temp debris
    }

    [Fact]
    public void BadCheckpointListsEveryProblemInOneException()
    {
        var dir = Tiny.TempDir();
        var file = Path.Combine(dir, "model.safetensors");
        using (var saved = new TinyMlp(1, hidden: 8)) saved.save_safetensors(file);

        // hidden 6: every fc1/norm/fc2.weight shape differs. Then drop one key and add an unknown one.
        var tensors = Safetensors.LoadStateDict(file);
        tensors.Remove("fc2.bias");
        tensors["extra.weight"] = zeros(3);
        Safetensors.SaveStateDict(file, tensors);

        using var model = new TinyMlp(1, hidden: 6);
        var e = Assert.Throws<CheckpointMismatchException>(() => RunCheckpoint.LoadModel(model, file));
        Assert.Equal(file, e.File);
        Assert.Contains(e.Problems, p => p.Key == "extra.weight" && p.Kind.StartsWith("unknown"));
        Assert.Contains(e.Problems, p => p.Key == "fc2.bias" && p.Kind.StartsWith("missing"));
        var fc1 = Assert.Single(e.Problems, p => p.Key == "fc1.weight");
        Assert.Equal([6L, 4L], fc1.Expected!);
        Assert.Equal([8L, 4L], fc1.Found!);
        Assert.Equal(7, e.Problems.Count); // fc1 w+b, norm w+b, fc2.weight, missing fc2.bias, extra
        Assert.Contains("fc1.weight: shape mismatch (model [6, 4], file [8, 4])", e.Message);
        Assert.Contains(file, e.Message);
    }

    [Fact]
    public void TruncatedFileIsNamedInTheError()
    {
        var file = Path.Combine(Tiny.TempDir(), "model.safetensors");
        using (var m = new TinyMlp(1)) m.save_safetensors(file);
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..20]);
        using var model = new TinyMlp(1);
        var e = Assert.Throws<InvalidDataException>(() => RunCheckpoint.LoadModel(model, file));
        Assert.Contains(file, e.Message);
    }

    [Fact]
    public void SaveAndLoadRoundTripsWeights_TrainableOnlySkipsFrozen()
    {
        var dir = Tiny.TempDir();
        using var a = new TinyMlp(1);
        Freezing.SetRequiresGrad(a, "fc1", false);
        var state = new TrainerState(3, 7, new TrainConfig(), ["all"], 0, 0, 0, 0, 1.5, DateTime.UtcNow);
        var ck = RunCheckpoint.Save(dir, a, null, state, trainableOnly: true);
        var keys = SafetensorsHeader.ReadShapes(Path.Combine(ck, RunCheckpoint.ModelFile)).Keys;
        Assert.DoesNotContain("fc1.weight", keys);
        Assert.Contains("fc2.weight", keys);

        using var b = new TinyMlp(2);
        Freezing.SetRequiresGrad(b, "fc1", false);
        RunCheckpoint.LoadModel(b, Path.Combine(ck, RunCheckpoint.ModelFile), trainableOnly: true);
        Assert.True(Tiny.Same(a.get_parameter("fc2.weight")!, b.get_parameter("fc2.weight")!));
        Assert.False(Tiny.Same(a.get_parameter("fc1.weight")!, b.get_parameter("fc1.weight")!));
        Assert.Equal(3, RunCheckpoint.ReadState(RunCheckpoint.Latest(dir)!).Step);
        Assert.Empty(Directory.GetFileSystemEntries(RunCheckpoint.Root(dir), ".*"));
    }
}
