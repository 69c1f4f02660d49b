using System.Runtime.InteropServices;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace OlaVlm.Core;

/// An 8-bit RGB image as PIL and numpy hold it: rows top to bottom, pixels R, G, B interleaved ([H, W, 3]).
/// The form the reference preprocessings work on, so each step can be matched byte for byte.
public sealed record RgbPixels(byte[] Data, int Height, int Width)
{
    public static RgbPixels From(Image<Rgb24> image)
    {
        var data = new byte[image.Height * image.Width * 3];
        image.CopyPixelDataTo(MemoryMarshal.Cast<byte, Rgb24>(data.AsSpan()));
        return new RgbPixels(data, image.Height, image.Width);
    }

    public static RgbPixels FromBytes(byte[] hwc, int height, int width) =>
        height > 0 && width > 0 && hwc.Length == height * width * 3 ? new RgbPixels(hwc, height, width)
            : throw new ArgumentException($"RgbPixels: {hwc.Length} bytes for a {height}×{width} RGB image (needs {Math.Max(height, 0) * Math.Max(width, 0) * 3}, sizes positive)");
}
