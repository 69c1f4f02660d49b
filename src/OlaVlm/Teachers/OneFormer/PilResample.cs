using System.Runtime.InteropServices;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace OlaVlm.Teachers.OneFormer;

/// An 8-bit RGB image as PIL and numpy hold it: rows top to bottom, pixels R, G, B interleaved ([H, W, 3]).
public sealed record RgbPixels(byte[] Data, int Height, int Width)
{
    public static RgbPixels From(Image<Rgb24> image)
    {
        var data = new byte[image.Height * image.Width * 3];
        image.CopyPixelDataTo(MemoryMarshal.Cast<byte, Rgb24>(data.AsSpan()));
        return new RgbPixels(data, image.Height, image.Width);
    }

    public static RgbPixels FromBytes(byte[] hwc, int height, int width) =>
        hwc.Length == height * width * 3 ? new RgbPixels(hwc, height, width)
            : throw new ArgumentException($"RgbPixels: {hwc.Length} bytes for a {height}×{width} RGB image (needs {height * width * 3})");
}

/// PIL's resampling filters by their Image.Resampling numbers (the `resample` of a preprocessor_config.json).
public enum PilFilter { Bilinear = 2, Bicubic = 3 }

/// Image.resize of Pillow for 8-bit RGB images, reproduced so that targets match the reference's pixels exactly:
/// the reference resizes with PIL twice (`img.resize((768, 768))`, bicubic, then the processor's bilinear resize).
/// Pillow's algorithm (its Resample.c): a separable convolution, horizontal pass then vertical, each output sample
/// the filter centred on ((i + 0.5)·scale), widened by the scale when shrinking (antialiasing), weights normalised to
/// sum 1 then rounded to 22-bit fixed point; 8-bit intermediate rows (clipped) between the passes.
/// No reducing_gap (the reference passes none).
public static class PilResample
{
    const int PrecisionBits = 32 - 8 - 2;

    public static RgbPixels Resize(RgbPixels src, int width, int height, PilFilter filter)
    {
        if (width < 1 || height < 1) throw new ArgumentException($"PilResample: target size {width}×{height}");
        if (width == src.Width && height == src.Height) return src with { Data = (byte[])src.Data.Clone() };
        var (boundsH, kernelH, ksizeH) = Coefficients(src.Width, width, filter);
        var (boundsV, kernelV, ksizeV) = Coefficients(src.Height, height, filter);
        var image = src;
        if (width != src.Width)
        {
            // Only the rows the vertical pass reads, as Pillow does (it matters only for its bounds).
            int first = boundsV[0], last = boundsV[2 * height - 2] + boundsV[2 * height - 1];
            image = Horizontal(src, first, last - first, width, boundsH, kernelH, ksizeH);
            for (int i = 0; i < height; i++) boundsV[2 * i] -= first;
        }
        if (height != src.Height) image = Vertical(image, height, boundsV, kernelV, ksizeV);
        return image;
    }

    static double Support(PilFilter f) => f switch { PilFilter.Bilinear => 1.0, PilFilter.Bicubic => 2.0, _ => throw new ArgumentException($"PilResample: filter {f}") };

    static double Filter(PilFilter f, double x)
    {
        if (x < 0.0) x = -x;
        if (f == PilFilter.Bilinear) return x < 1.0 ? 1.0 - x : 0.0;
        const double a = -0.5;
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    /// Per output sample: the first input index and count (bounds), and ksize fixed-point weights.
    static (int[] Bounds, int[] Kernel, int Ksize) Coefficients(int inSize, int outSize, PilFilter f)
    {
        double scale = (double)inSize / outSize, filterscale = Math.Max(scale, 1.0);
        double support = Support(f) * filterscale;
        int ksize = (int)Math.Ceiling(support) * 2 + 1;
        var bounds = new int[outSize * 2];
        var kernel = new int[outSize * ksize];
        var k = new double[ksize];
        for (int xx = 0; xx < outSize; xx++)
        {
            double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
            int xmin = Math.Max((int)(center - support + 0.5), 0);
            int xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
            Array.Clear(k);
            for (int x = 0; x < xmax; x++) { k[x] = Filter(f, (x + xmin - center + 0.5) * ss); ww += k[x]; }
            for (int x = 0; x < xmax; x++) if (ww != 0.0) k[x] /= ww;
            for (int x = 0; x < ksize; x++)
                kernel[xx * ksize + x] = k[x] < 0 ? (int)(-0.5 + k[x] * (1 << PrecisionBits)) : (int)(0.5 + k[x] * (1 << PrecisionBits));
            bounds[2 * xx] = xmin;
            bounds[2 * xx + 1] = xmax;
        }
        return (bounds, kernel, ksize);
    }

    static byte Clip8(int v) => (byte)Math.Clamp(v >> PrecisionBits, 0, 255);

    static RgbPixels Horizontal(RgbPixels src, int firstRow, int rows, int width, int[] bounds, int[] kernel, int ksize)
    {
        var o = new byte[rows * width * 3];
        for (int y = 0; y < rows; y++)
        {
            int inRow = (y + firstRow) * src.Width * 3, outRow = y * width * 3;
            for (int xx = 0; xx < width; xx++)
            {
                int xmin = bounds[2 * xx], xmax = bounds[2 * xx + 1], kk = xx * ksize;
                for (int c = 0; c < 3; c++)
                {
                    int ss = 1 << (PrecisionBits - 1);
                    for (int x = 0; x < xmax; x++) ss += src.Data[inRow + (x + xmin) * 3 + c] * kernel[kk + x];
                    o[outRow + xx * 3 + c] = Clip8(ss);
                }
            }
        }
        return new RgbPixels(o, rows, width);
    }

    static RgbPixels Vertical(RgbPixels src, int height, int[] bounds, int[] kernel, int ksize)
    {
        int stride = src.Width * 3;
        var o = new byte[height * stride];
        for (int yy = 0; yy < height; yy++)
        {
            int ymin = bounds[2 * yy], ymax = bounds[2 * yy + 1], kk = yy * ksize;
            for (int i = 0; i < stride; i++)
            {
                int ss = 1 << (PrecisionBits - 1);
                for (int y = 0; y < ymax; y++) ss += src.Data[(y + ymin) * stride + i] * kernel[kk + y];
                o[yy * stride + i] = Clip8(ss);
            }
        }
        return new RgbPixels(o, height, src.Width);
    }
}
