using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace OlaVlm.Core;

/// PIL's resampling filters by their Image.Resampling numbers (the `resample` of a preprocessor_config.json).
public enum PilFilter { Bilinear = 2, Bicubic = 3 }

/// Pillow's `Image.resize(size, filter)` for 8-bit RGB, byte for byte, so that preprocessing the reference runs
/// through PIL (directly, through torchvision's Resize on a PIL image, or through a transformers image processor)
/// gives the same pixels here; ImageSharp's bicubic differs by a level or two. The algorithm of Pillow's
/// libImaging/Resample.c: a separable convolution, horizontal pass first, each output sample the filter centred on
/// (i + 0.5)·scale and widened by the scale when shrinking (antialiasing); weights normalised to sum 1, then rounded
/// to 22-bit fixed point; each pass rounds and clips to a byte. Bicubic is the a = −0.5 cubic of support 2, bilinear
/// the triangle of support 1. No reducing_gap (no caller passes one).
public static class PilResize
{
    const int PrecisionBits = 32 - 8 - 2;

    public static RgbPixels Resize(RgbPixels src, int width, int height, PilFilter filter = PilFilter.Bicubic)
    {
        if (width < 1 || height < 1) throw new ArgumentException($"PilResize: target size {width}×{height} from {src.Width}×{src.Height}");
        if (width == src.Width && height == src.Height) return src with { Data = (byte[])src.Data.Clone() };   // Pillow returns a copy
        var (boundsH, kernelH, ksizeH) = Coefficients(src.Width, width, filter);
        var (boundsV, kernelV, ksizeV) = Coefficients(src.Height, height, filter);
        var image = src;
        if (width != src.Width)
        {
            // Only the rows the vertical pass reads, as Pillow does (the same bytes; it saves work when shrinking).
            int first = boundsV[0], last = boundsV[2 * height - 2] + boundsV[2 * height - 1];
            image = Horizontal(src, first, last - first, width, boundsH, kernelH, ksizeH);
            for (int i = 0; i < height; i++) boundsV[2 * i] -= first;
        }
        if (height != src.Height) image = Vertical(image, height, boundsV, kernelV, ksizeV);
        return image;
    }

    /// rgb: height × width × 3 bytes, row-major → outHeight × outWidth × 3 bytes, bicubic.
    public static byte[] Bicubic(byte[] rgb, int width, int height, int outWidth, int outHeight) =>
        Resize(RgbPixels.FromBytes(rgb, height, width), outWidth, outHeight).Data;

    /// An ImageSharp image resized as Pillow's bicubic would, as outHeight × outWidth × 3 bytes.
    public static byte[] Bicubic(Image<Rgb24> image, int outWidth, int outHeight) =>
        Resize(RgbPixels.From(image), outWidth, outHeight).Data;

    /// The shorter side to `edge`, the longer to int(edge · long / short), bicubic: torchvision's Resize(int) and
    /// transformers' `size={"shortest_edge": edge}` compute the same size.
    public static RgbPixels ShortestEdge(RgbPixels src, int edge)
    {
        if (edge < 1) throw new ArgumentException($"PilResize: shortest edge {edge} must be positive");
        int shortSide = Math.Min(src.Width, src.Height), longSide = Math.Max(src.Width, src.Height);
        int newLong = (int)((long)edge * longSide / shortSide);
        var (w, h) = src.Width <= src.Height ? (edge, newLong) : (newLong, edge);
        return Resize(src, w, h);
    }

    static double Support(PilFilter f) => f switch
    {
        PilFilter.Bilinear => 1.0,
        PilFilter.Bicubic => 2.0,
        _ => throw new ArgumentException($"PilResize: filter {f} is not implemented (bilinear or bicubic)")
    };

    static double Filter(PilFilter f, double x)
    {
        x = Math.Abs(x);
        if (f == PilFilter.Bilinear) return x < 1.0 ? 1.0 - x : 0.0;
        const double a = -0.5;
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    /// Pillow's precompute_coeffs + normalize_coeffs_8bpc: per output sample the first input index and the tap count
    /// (bounds), and `ksize` fixed-point weights.
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

    /// Pillow's ImagingResampleHorizontal_8bpc over `rows` rows from `firstRow`.
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

    /// Pillow's ImagingResampleVertical_8bpc.
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
