using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace OlaVlm.World;

/// Limits checked before an image is decoded, so a crafted file cannot exhaust memory.
public sealed record ImageLimits(int MaxWidth = 4096, int MaxHeight = 4096, long MaxPixels = 4096L * 4096, long MaxFileBytes = 64L << 20)
{
    public static ImageLimits Default { get; } = new();
}

public sealed class ImageLoadException(string message, Exception? inner = null) : IOException(message, inner);

/// The one loader for every external image. It checks the file size, then reads only the header
/// (Image.Identify) to check width, height and pixel count, and only then decodes to RGB.
public static class ImageLoader
{
    public static Image<Rgb24> Load(string path, ImageLimits? limits = null)
    {
        limits ??= ImageLimits.Default;
        var info = new FileInfo(path);
        if (!info.Exists) throw new ImageLoadException($"image not found: '{path}'");
        if (info.Length > limits.MaxFileBytes)
            throw new ImageLoadException($"image '{path}' is {info.Length} bytes, over the limit of {limits.MaxFileBytes}");
        IImageInfo? header;
        try { header = Image.Identify(path); }
        catch (Exception ex) { throw new ImageLoadException($"image '{path}' has an unreadable header: {ex.Message}", ex); }
        if (header == null) throw new ImageLoadException($"image '{path}' is not in a known image format");
        if (header.Width <= 0 || header.Height <= 0)
            throw new ImageLoadException($"image '{path}' reports a size of {header.Width}x{header.Height}");
        if (header.Width > limits.MaxWidth || header.Height > limits.MaxHeight || (long)header.Width * header.Height > limits.MaxPixels)
            throw new ImageLoadException($"image '{path}' is {header.Width}x{header.Height}, over the limits " +
                                         $"({limits.MaxWidth}x{limits.MaxHeight}, {limits.MaxPixels} pixels)");
        try { return Image.Load<Rgb24>(path); }
        catch (Exception ex) { throw new ImageLoadException($"image '{path}' could not be decoded: {ex.Message}", ex); }
    }
}
