namespace OlaVlm.World;

/// Pillow's `Image.resize(size, Image.BICUBIC)` for 8-bit RGB, value for value (libImaging/Resample.c): the
/// resize torchvision's Resize does on a PIL image, so preprocessing that the reference runs through
/// torchvision gives the same bytes here. Separable, horizontal pass first; a filter of support 2 (cubic,
/// a = −0.5) widened by the scale when shrinking (antialiasing); coefficients normalised, then fixed point with
/// 22 fraction bits; each pass rounds and clips to a byte. ImageSharp's bicubic differs by a level or two.
public static class PilResize
{
    const int PrecisionBits = 32 - 8 - 2;

    /// rgb: height × width × 3 bytes, row-major → newHeight × newWidth × 3 bytes.
    public static byte[] Bicubic(byte[] rgb, int width, int height, int newWidth, int newHeight)
    {
        if (width <= 0 || height <= 0 || newWidth <= 0 || newHeight <= 0 || rgb.Length != width * height * 3)
            throw new ArgumentException($"PilResize: {rgb.Length} bytes for {width}×{height} RGB → {newWidth}×{newHeight}");
        if (width == newWidth && height == newHeight) return (byte[])rgb.Clone();
        var rows = width == newWidth ? rgb : Pass(rgb, height, width, newWidth, horizontal: true);
        return height == newHeight ? rows : Pass(rows, newWidth, height, newHeight, horizontal: false);
    }

    /// Resamples along one axis. lines: the other axis's length; horizontal: resample within rows.
    static byte[] Pass(byte[] src, int lines, int inSize, int outSize, bool horizontal)
    {
        var (bounds, coeffs, ksize) = Coefficients(inSize, outSize);
        int width = horizontal ? outSize : lines, height = horizontal ? lines : outSize, srcWidth = horizontal ? inSize : lines;
        var dst = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int o = horizontal ? x : y;
                int min = bounds[2 * o], count = bounds[2 * o + 1];
                for (int ch = 0; ch < 3; ch++)
                {
                    int ss = 1 << (PrecisionBits - 1);
                    for (int k = 0; k < count; k++)
                    {
                        int sx = horizontal ? min + k : x, sy = horizontal ? y : min + k;
                        ss += src[(sy * srcWidth + sx) * 3 + ch] * coeffs[o * ksize + k];
                    }
                    dst[(y * width + x) * 3 + ch] = (byte)Math.Clamp(ss >> PrecisionBits, 0, 255);
                }
            }
        return dst;
    }

    /// Pillow's precompute_coeffs + normalize_coeffs_8bpc: for each output pixel the first input pixel, the
    /// count, and the fixed-point weights.
    static (int[] Bounds, int[] Coeffs, int KSize) Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize, filterScale = Math.Max(scale, 1.0);
        double support = 2.0 * filterScale;
        int ksize = (int)Math.Ceiling(support) * 2 + 1;
        var bounds = new int[outSize * 2];
        var coeffs = new int[outSize * ksize];
        var k = new double[ksize];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale, sum = 0;
            int min = Math.Max((int)(center - support + 0.5), 0);
            int max = Math.Min((int)(center + support + 0.5), inSize) - min;
            for (int i = 0; i < max; i++) sum += k[i] = Cubic((i + min - center + 0.5) / filterScale);
            for (int i = 0; i < max; i++)
            {
                double w = sum != 0 ? k[i] / sum : k[i];
                coeffs[o * ksize + i] = (int)(w < 0 ? -0.5 + w * (1 << PrecisionBits) : 0.5 + w * (1 << PrecisionBits));
            }
            bounds[2 * o] = min; bounds[2 * o + 1] = max;
        }
        return (bounds, coeffs, ksize);
    }

    static double Cubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }
}
