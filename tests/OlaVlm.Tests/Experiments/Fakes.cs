using OlaVlm.Experiments;
using OlaVlm.Teachers;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Experiments;

/// Replies decided by the test: prompt → reply. Records what it was given.
sealed class ScriptedAnswerer(Func<string, string> reply, int imageSize = 8) : IBenchAnswerer
{
    public string Name => "scripted";
    public string Hash => "scripted-v1";
    public int ImageSize => imageSize;
    public List<(IReadOnlyList<string> Prompts, long[]? PixelShape)> Calls { get; } = new();

    public IReadOnlyList<string> Answer(IReadOnlyList<string> prompts, Tensor? pixels)
    {
        Calls.Add((prompts, pixels?.shape));
        return prompts.Select(reply).ToList();
    }
}

/// A stand-in teacher: each 4×4 patch of an 8×8 image (4 tokens) through a fixed random projection to 6
/// dims, centred per token (as LayerNorm-ed teacher features are).
sealed class PatchTeacher : ITeacher
{
    readonly Tensor proj;
    public PatchTeacher(int seed = 3) { proj = randn(48, 6, generator: new Generator((ulong)seed)) / Math.Sqrt(48); WeightsHash = $"patch-teacher-{seed}"; }
    public string Name => "patch";
    public TeacherKind Kind => TeacherKind.Depth;
    public long[] TargetShape => [4, 6];
    public Device Device => CPU;
    public string WeightsHash { get; }

    public Tensor Encode(Tensor images)
    {
        using var scope = NewDisposeScope();
        var b = images.shape[0];
        // [B, 3, 8, 8] → [B, 3, 2, 4, 2, 4] → [B, 2, 2, 3, 4, 4] → [B, 4, 48]
        var patches = images.to(float32).cpu().reshape(b, 3, 2, 4, 2, 4).permute(0, 2, 4, 1, 3, 5).reshape(b, 4, 48);
        var y = einsum("btk,kd->btd", patches, proj);
        return (y - y.mean([-1], keepdim: true)).MoveToOuterDisposeScope();
    }

    public Tensor? Decode(Tensor embedding) => null;
    public void Dispose() => proj.Dispose();
}

/// A "model" with 2 layers: layer 1 is noise unrelated to the image; layer 2 holds the teacher's target
/// tokens (with a one-hot position so a probe query can find each) and one padding token, masked out.
sealed class TargetCarryingModel(ITeacher teacher) : IHiddenStateSource
{
    public string Name => "carrier";
    public string Hash => "carrier-v1";
    public int NumLayers => 2;
    public int ImageSize => 8;
    public int Calls { get; private set; }

    public LayerStates HiddenStates(Tensor pixels, string prompt)
    {
        Calls++;
        long n = pixels.shape[0];
        using var target = teacher.Encode(pixels);                          // [n, 4, 6]
        var pos = eye(4).unsqueeze(0).expand(n, 4, 4);
        var carrying = cat([cat([target, pos], 2), randn(n, 1, 10) * 10], 1);  // [n, 5, 10]
        var noise = randn(n, 5, 10);
        var mask = cat([ones(n, 4, dtype: ScalarType.Bool), zeros(n, 1, dtype: ScalarType.Bool)], 1);
        return new LayerStates([noise, carrying], mask, Input: noise.clone());   // layer 0 holds no more than layer 1
    }
}

/// Downsamples images for a teacher of another resolution.
sealed class ResizingTeacher(OlaVlm.Teachers.ITeacher inner, int size) : OlaVlm.Teachers.ITeacher
{
    public string Name => inner.Name;
    public OlaVlm.Teachers.TeacherKind Kind => inner.Kind;
    public long[] TargetShape => inner.TargetShape;
    public Device Device => inner.Device;
    public string WeightsHash => inner.WeightsHash + $"@{size}";
    public Tensor Encode(Tensor images)
    {
        using var small = nn.functional.interpolate(images, [size, size], mode: InterpolationMode.Bilinear);
        return inner.Encode(small);
    }
    public Tensor? Decode(Tensor embedding) => null;
    public void Dispose() { }
}
