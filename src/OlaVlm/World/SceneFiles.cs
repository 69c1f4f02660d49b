using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace OlaVlm.World;

/// Writes and reads a scene's per-pixel files: the image (RGB PNG), segmentation (8-bit PNG of SegClass ids)
/// and depth (.npy, little-endian float16, shape [H, W], readable by numpy.load).
public static class SceneFiles
{
    // Fast compression: files are small and written by the thousand; output is deterministic either way.
    static readonly PngEncoder RgbPng = new() { CompressionLevel = PngCompressionLevel.BestSpeed, FilterMethod = PngFilterMethod.Sub, ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8 };
    static readonly PngEncoder GrayPng = new() { CompressionLevel = PngCompressionLevel.BestSpeed, FilterMethod = PngFilterMethod.None, ColorType = PngColorType.Grayscale, BitDepth = PngBitDepth.Bit8 };

    public static Image<Rgb24> ToImage(Scene s) => Image.LoadPixelData<Rgb24>(s.Rgb, s.Width, s.Height);

    public static void WriteImage(Scene s, string path)
    {
        using var img = ToImage(s);
        img.Save(path, RgbPng);
    }

    public static void WriteSeg(Scene s, string path)
    {
        using var img = Image.LoadPixelData<L8>(s.Seg, s.Width, s.Height);
        img.Save(path, GrayPng);
    }

    /// Reads a segmentation PNG back into class ids (no limits: only for files this library wrote).
    public static byte[] ReadSeg(string path, out int width, out int height)
    {
        using var img = Image.Load<L8>(path);
        width = img.Width; height = img.Height;
        var ids = new byte[width * height];
        img.CopyPixelDataTo(ids);
        return ids;
    }

    public static void WriteDepth(Scene s, string path) => Npy.WriteFloat16(path, s.Depth, s.Height, s.Width);
}
