using OlaVlm.Core;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using static TorchSharp.torch;

namespace OlaVlm.World;

/// Turns images, depth maps and segmentation maps into tensors on a chosen device.
public static class ImageTensors
{
    /// [B, 3, size, size] float32: pixels / 255, minus mean, over std. Images of another size are resized
    /// (bicubic), as CLIP's processor does for square inputs.
    public static Tensor FromImages(IReadOnlyList<Image<Rgb24>> images, int size, Device? device = null, Normalization? norm = null)
    {
        if (images.Count == 0) throw new ArgumentException("ImageTensors.FromImages: no images");
        norm ??= Normalization.Clip;
        int plane = size * size;
        var data = new float[images.Count * 3 * plane];
        var px = new Rgb24[plane];
        for (int b = 0; b < images.Count; b++)
        {
            var img = images[b];
            using var resized = img.Width == size && img.Height == size ? null : img.Clone(x => x.Resize(size, size, KnownResamplers.Bicubic));
            (resized ?? img).CopyPixelDataTo(px);
            int o = b * 3 * plane;
            for (int i = 0; i < plane; i++)
            {
                data[o + i] = (px[i].R / 255f - norm.Mean[0]) / norm.Std[0];
                data[o + plane + i] = (px[i].G / 255f - norm.Mean[1]) / norm.Std[1];
                data[o + 2 * plane + i] = (px[i].B / 255f - norm.Mean[2]) / norm.Std[2];
            }
        }
        return tensor(data, [images.Count, 3, size, size], dtype: float32, device: device ?? Core.Devices.Default);
    }

    /// [B, 1, H, W] float32 depth maps (row-major arrays of H * W values).
    public static Tensor FromDepth(IReadOnlyList<float[]> maps, int height, int width, Device? device = null)
    {
        var data = Concat(maps, height * width, "depth");
        return tensor(data, [maps.Count, 1, height, width], dtype: float32, device: device ?? Core.Devices.Default);
    }

    /// [B, H, W] int64 class ids (SegClass).
    public static Tensor FromSeg(IReadOnlyList<byte[]> maps, int height, int width, Device? device = null)
    {
        var data = Concat(maps, height * width, "segmentation").Select(b => (long)b).ToArray();
        return tensor(data, [maps.Count, height, width], dtype: int64, device: device ?? Core.Devices.Default);
    }

    static T[] Concat<T>(IReadOnlyList<T[]> maps, int n, string what)
    {
        var all = new T[maps.Count * n];
        for (int b = 0; b < maps.Count; b++)
        {
            if (maps[b].Length != n) throw new ArgumentException($"ImageTensors: {what} map {b} has {maps[b].Length} values, expected {n}");
            maps[b].CopyTo(all, b * n);
        }
        return all;
    }
}
