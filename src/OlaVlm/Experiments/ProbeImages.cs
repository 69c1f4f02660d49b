using System.Security.Cryptography;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Experiments;

/// The images probes are trained on (Train) and scored on (Val): normalised pixels [N, 3, S, S] on the
/// CPU. The hash covers the pixels themselves, so cached probe results follow the exact images.
/// Teachers receive the same (CLIP-normalised) pixels as the MLLM.
public sealed class ProbeImages : IDisposable
{
    public Tensor Train { get; }
    public Tensor Val { get; }
    public string Hash { get; }

    public ProbeImages(Tensor train, Tensor val)
    {
        foreach (var (t, what) in new[] { (train, "train"), (val, "val") })
            if (t.dim() != 4 || t.shape[1] != 3 || t.shape[0] == 0)
                throw new ArgumentException($"ProbeImages: {what} pixels {Core.Checked.Fmt(t.shape)} must be a non-empty [N, 3, H, W]");
        Train = train.to(float32).cpu(); Val = val.to(float32).cpu();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in new[] { Train, Val })
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(Core.Checked.Fmt(t.shape) + ";"));
            using var c = t.contiguous();
            sha.AppendData(c.bytes);
        }
        Hash = Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    /// The first `train` scenes of the world's pt split and the first `val` scenes of its val split
    /// (no scene is shared between splits), resized to `size` and CLIP-normalised.
    public static ProbeImages FromWorld(WorldData world, int train, int val, int size)
    {
        Tensor Load(string split, int n)
        {
            var scenes = world.Scenes(split);
            if (scenes.Count < n)
                throw new ArgumentException($"ProbeImages: asked for {n} {split} images but world '{world.Root}' has {scenes.Count}");
            var images = scenes.Take(n).Select(world.Image).ToList();
            try { return ImageTensors.FromImages(images, size, CPU); }
            finally { foreach (var im in images) im.Dispose(); }
        }
        return new ProbeImages(Load("pt", train), Load("val", val));
    }

    public void Dispose() { Train.Dispose(); Val.Dispose(); }
}
