using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace OlaVlm.World;

/// Pictures of depth and segmentation maps, and a montage of several images, for notebooks.
public static class Colormaps
{
    // A few anchor colours of matplotlib's "magma" (near = bright, far = dark, like Depth-Anything previews).
    static readonly (double T, byte R, byte G, byte B)[] Magma =
        [(0, 0, 0, 4), (0.25, 81, 18, 124), (0.5, 183, 55, 121), (0.75, 252, 137, 97), (1, 252, 253, 191)];

    /// Class colours: sky, floor, cube, sphere, cylinder, cone; ids beyond get a hashed colour.
    static readonly Rgb24[] SegPalette =
        [new(135, 190, 235), new(120, 110, 100), new(230, 25, 75), new(60, 180, 75), new(255, 225, 25), new(0, 130, 200)];

    /// Depth to colour: near surfaces bright, far ones dark. Colours follow inverse depth (disparity), as
    /// Depth-Anything previews do, so near objects get most of the contrast. min/max default to the map's range.
    public static Image<Rgb24> Depth(float[] depth, int width, int height, float? min = null, float? max = null)
    {
        Check(depth.Length, width, height, "depth");
        double lo = 1.0 / Math.Max(1e-6, max ?? depth.Max()), hi = 1.0 / Math.Max(1e-6, min ?? depth.Min());
        var img = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            double inv = 1.0 / Math.Max(1e-6, depth[y * width + x]);
            img[x, y] = Ramp(hi > lo ? Math.Clamp((inv - lo) / (hi - lo), 0, 1) : 0);
        }
        return img;
    }

    public static Image<Rgb24> Segmentation(byte[] seg, int width, int height)
    {
        Check(seg.Length, width, height, "segmentation");
        var img = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            int c = seg[y * width + x];
            img[x, y] = c < SegPalette.Length ? SegPalette[c] : new Rgb24((byte)(c * 67), (byte)(c * 139), (byte)(c * 211));
        }
        return img;
    }

    /// Images in a grid (row-major), each scaled to cell x cell with nearest-neighbour so pixels stay visible.
    public static Image<Rgb24> Montage(IReadOnlyList<Image<Rgb24>> images, int columns, int cell = 128, int pad = 2)
    {
        if (images.Count == 0 || columns <= 0) throw new ArgumentException("Colormaps.Montage needs images and columns > 0");
        int rows = (images.Count + columns - 1) / columns;
        var grid = new Image<Rgb24>(columns * (cell + pad) + pad, rows * (cell + pad) + pad, new Rgb24(255, 255, 255));
        for (int i = 0; i < images.Count; i++)
        {
            using var scaled = images[i].Clone(x => x.Resize(cell, cell, KnownResamplers.NearestNeighbor));
            int ox = pad + i % columns * (cell + pad), oy = pad + i / columns * (cell + pad);
            for (int y = 0; y < cell; y++)
            for (int x = 0; x < cell; x++) grid[ox + x, oy + y] = scaled[x, y];
        }
        return grid;
    }

    static Rgb24 Ramp(double t)
    {
        for (int i = 1; i < Magma.Length; i++)
        {
            if (t > Magma[i].T && i < Magma.Length - 1) continue;
            var (a, b) = (Magma[i - 1], Magma[i]);
            double f = Math.Clamp((t - a.T) / (b.T - a.T), 0, 1);
            return new Rgb24((byte)(a.R + (b.R - a.R) * f), (byte)(a.G + (b.G - a.G) * f), (byte)(a.B + (b.B - a.B) * f));
        }
        return new Rgb24(0, 0, 0);
    }

    static void Check(int n, int w, int h, string what)
    {
        if (n != w * h) throw new ArgumentException($"Colormaps: {what} map has {n} values, expected {w}x{h} = {w * h}");
    }
}
