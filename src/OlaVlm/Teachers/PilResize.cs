using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace OlaVlm.Teachers;

/// Pillow's `Image.resize(size, BICUBIC)` for 8-bit RGB, bit for bit: both teachers' reference pipelines resize with
/// it (OLA-VLM's `img.resize((336, 336))` before DAv2, and CLIPImageProcessor's shortest-edge resize before unCLIP).
/// The algorithm of Pillow's libImaging/Resample.c: a separable convolution with the a = −0.5 cubic kernel, widened
/// by the scale when shrinking (antialiasing), coefficients normalised per output pixel and turned into 22-bit fixed
/// point; the horizontal pass runs first (only over the rows the vertical pass reads) and stores 8-bit values.
public static class PilResize
{
    const int PrecisionBits = 32 - 8 - 2;
    const double Support = 2.0;

    /// rgb: height × width × 3 bytes, row-major → outHeight × outWidth × 3 bytes.
    public static byte[] Bicubic(ReadOnlySpan<byte> rgb, int width, int height, int outWidth, int outHeight)
    {
        if (width <= 0 || height <= 0 || outWidth <= 0 || outHeight <= 0)
            throw new ArgumentException($"PilResize: sizes must be positive (in {width}x{height}, out {outWidth}x{outHeight})");
        if (rgb.Length != width * height * 3)
            throw new ArgumentException($"PilResize: {rgb.Length} bytes is not {width}x{height} RGB");
        if (width == outWidth && height == outHeight) return rgb.ToArray();   // Pillow returns a copy
        var (vBounds, vK, vSize) = Coefficients(height, outHeight);
        int yFirst = vBounds[0], yLast = vBounds[2 * outHeight - 2] + vBounds[2 * outHeight - 1];
        byte[] src = rgb.ToArray();
        int srcW = width, rows = height;
        if (outWidth != width)
        {
            var (hBounds, hK, hSize) = Coefficients(width, outWidth);
            rows = yLast - yFirst;
            src = Pass(src, srcW, rows, yFirst, outWidth, hBounds, hK, hSize, horizontal: true);
            srcW = outWidth;
            for (int i = 0; i < outHeight; i++) vBounds[2 * i] -= yFirst;
            if (outHeight == height) return src;
        }
        return Pass(src, srcW, rows, 0, outHeight, vBounds, vK, vSize, horizontal: false);
    }

    /// An ImageSharp RGB image resized as Pillow would, as height × width × 3 bytes.
    public static byte[] Bicubic(Image<Rgb24> image, int outWidth, int outHeight) =>
        Bicubic(RgbBytes(image), image.Width, image.Height, outWidth, outHeight);

    public static byte[] RgbBytes(Image<Rgb24> image)
    {
        var bytes = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(bytes);
        return bytes;
    }

    /// Pillow's precompute_coeffs + normalize_coeffs_8bpc: per output pixel the first input index, the tap count and
    /// `ksize` fixed-point weights.
    static (int[] Bounds, int[] K, int KSize) Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize, filterScale = Math.Max(scale, 1.0), support = Support * filterScale;
        int ksize = (int)Math.Ceiling(support) * 2 + 1;
        var bounds = new int[outSize * 2];
        var k = new int[outSize * ksize];
        var w = new double[ksize];
        for (int xx = 0; xx < outSize; xx++)
        {
            double center = (xx + 0.5) * scale, ww = 0, ss = 1.0 / filterScale;
            int xmin = Math.Max(0, (int)(center - support + 0.5));
            int xmax = Math.Min(inSize, (int)(center + support + 0.5)) - xmin;
            for (int x = 0; x < xmax; x++) { w[x] = Cubic((x + xmin - center + 0.5) * ss); ww += w[x]; }
            for (int x = 0; x < xmax; x++)
            {
                double v = ww != 0 ? w[x] / ww : w[x];
                k[xx * ksize + x] = v < 0 ? (int)(-0.5 + v * (1 << PrecisionBits)) : (int)(0.5 + v * (1 << PrecisionBits));
            }
            bounds[2 * xx] = xmin; bounds[2 * xx + 1] = xmax;
        }
        return (bounds, k, ksize);
    }

    static double Cubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    /// One separable pass in 8-bit fixed point (Pillow's ImagingResample{Horizontal,Vertical}_8bpc).
    static byte[] Pass(byte[] src, int srcW, int rows, int rowOffset, int outSize, int[] bounds, int[] k, int ksize, bool horizontal)
    {
        int outW = horizontal ? outSize : srcW, outH = horizontal ? rows : outSize;
        var dst = new byte[outW * outH * 3];
        for (int yy = 0; yy < outH; yy++)
            for (int xx = 0; xx < outW; xx++)
            {
                int o = horizontal ? xx : yy, min = bounds[2 * o], n = bounds[2 * o + 1], kb = o * ksize;
                for (int c = 0; c < 3; c++)
                {
                    int ss = 1 << (PrecisionBits - 1);
                    for (int t = 0; t < n; t++)
                    {
                        int idx = horizontal ? ((yy + rowOffset) * srcW + min + t) * 3 + c : ((min + t) * srcW + xx) * 3 + c;
                        ss += src[idx] * k[kb + t];
                    }
                    dst[(yy * outW + xx) * 3 + c] = Clip8(ss);
                }
            }
        return dst;
    }

    static byte Clip8(int ss)
    {
        int v = ss >> PrecisionBits;
        return (byte)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}
