using System.Security.Cryptography;
using OlaVlm.Core;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Experiments;

/// The images probes are trained on (Train) and scored on (Val): normalised pixels [N, 3, S, S] on the
/// CPU, as the MLLM sees them; TeacherTrain/TeacherVal are the same images as the teachers expect them
/// (their own size and normalisation; the same tensors when not given). The hash covers all pixels, so
/// cached probe results follow the exact images.
public sealed class ProbeImages : IDisposable
{
    public Tensor Train { get; }
    public Tensor Val { get; }
    public Tensor TeacherTrain { get; }
    public Tensor TeacherVal { get; }
    public string Hash { get; }

    public ProbeImages(Tensor train, Tensor val, Tensor? teacherTrain = null, Tensor? teacherVal = null)
    {
        foreach (var (t, what) in new[] { (train, "train"), (val, "val"), (teacherTrain ?? train, "teacher train"), (teacherVal ?? val, "teacher val") })
            if (t.dim() != 4 || t.shape[1] != 3 || t.shape[0] == 0)
                throw new ArgumentException($"ProbeImages: {what} pixels {Core.Checked.Fmt(t.shape)} must be a non-empty [N, 3, H, W]");
        Train = train.to(float32).cpu(); Val = val.to(float32).cpu();
        TeacherTrain = teacherTrain?.to(float32).cpu() ?? Train;
        TeacherVal = teacherVal?.to(float32).cpu() ?? Val;
        if (TeacherTrain.shape[0] != Train.shape[0] || TeacherVal.shape[0] != Val.shape[0])
            throw new ArgumentException($"ProbeImages: teacher images ({TeacherTrain.shape[0]} train, {TeacherVal.shape[0]} val) must be the same images as the model's ({Train.shape[0]}, {Val.shape[0]})");
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in new[] { Train, Val, TeacherTrain, TeacherVal })
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(Core.Checked.Fmt(t.shape) + ";"));
            using var c = t.contiguous();
            sha.AppendData(c.bytes);
        }
        Hash = Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    /// The first `train` scenes of the world's pt split and the first `val` scenes of its val split
    /// (no scene is shared between splits), resized to `size` and CLIP-normalised for the model, and at
    /// `teacherSize` (default: size) with `teacherNorm` (default: CLIP) for the teachers.
    public static ProbeImages FromWorld(WorldData world, int train, int val, int size, Normalization? teacherNorm = null, int? teacherSize = null)
    {
        (Tensor Model, Tensor Teacher) Load(string split, int n)
        {
            var scenes = world.Scenes(split);
            if (scenes.Count < n)
                throw new ArgumentException($"ProbeImages: asked for {n} {split} images but world '{world.Root}' has {scenes.Count}");
            var images = scenes.Take(n).Select(world.Image).ToList();
            try
            {
                return (ImageTensors.FromImages(images, size, CPU),
                        ImageTensors.FromImages(images, teacherSize ?? size, CPU, teacherNorm ?? Normalization.Clip));
            }
            finally { foreach (var im in images) im.Dispose(); }
        }
        var (tr, ttr) = Load("pt", train);
        var (va, tva) = Load("val", val);
        return new ProbeImages(tr, va, ttr, tva);
    }

    public void Dispose()
    {
        if (!ReferenceEquals(TeacherTrain, Train)) TeacherTrain.Dispose();
        if (!ReferenceEquals(TeacherVal, Val)) TeacherVal.Dispose();
        Train.Dispose(); Val.Dispose();
    }
}
