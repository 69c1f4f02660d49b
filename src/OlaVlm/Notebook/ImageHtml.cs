using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;

namespace OlaVlm.Notebook;

/// ImageSharp images as inline PNG <img> tags (no files, works in every host and in saved notebooks).
public static class ImageHtml
{
    /// Small images (the miniature world draws 32x32 scenes) are shown enlarged, with crisp pixels,
    /// to at least this width; large ones keep their size.
    public const int MinDisplayWidth = 160;

    public static string DataUri(Image image)
    {
        using var ms = new MemoryStream();
        image.Save(ms, new PngEncoder());
        return "data:image/png;base64," + Convert.ToBase64String(ms.ToArray());
    }

    public static string ImgTag(Image image, int? displayWidth = null)
    {
        int w = displayWidth ?? (image.Width >= MinDisplayWidth ? image.Width : image.Width * (int)Math.Ceiling(MinDisplayWidth / (double)image.Width));
        int h = (int)Math.Round(image.Height * (w / (double)image.Width));
        return $"<img src=\"{DataUri(image)}\" width=\"{w}\" height=\"{h}\" style=\"image-rendering: pixelated\" " +
               $"alt=\"{image.Width}x{image.Height} image\" title=\"{image.Width}x{image.Height}\"/>";
    }
}
