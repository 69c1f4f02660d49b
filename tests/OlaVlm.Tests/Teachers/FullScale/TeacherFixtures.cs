using OlaVlm.Core;
using OlaVlm.Model;
using OlaVlm.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers.FullScale;

/// The committed outputs of environment/fixtures/teachers_dav2_unclip.py (the authors' code on tiny random weights).
static class TeacherFixtures
{
    public const double Tolerance = 1e-4;

    public static string At(params string[] parts) => TestFiles.Fixture(["Teachers", .. parts]);

    public static Dictionary<string, Tensor> Read(params string[] parts) => Checkpoint.Read(At(parts));

    /// The two test images: 40×30 (both pipelines upsample it) and 300×250 (the CLIP one downsamples it).
    public static List<Image<Rgb24>> Images() =>
        [ImageLoader.Load(At("image0_40x30.png")), ImageLoader.Load(At("image1_300x250.png"))];

    /// The two sums the script's `checksum` takes over an H×W×3 uint8 image.
    public static double[] Checksum(byte[] hwc, int height, int width)
    {
        double plain = 0, weighted = 0;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < 3; c++)
                {
                    double v = hwc[(y * width + x) * 3 + c];
                    plain += v; weighted += v * ((y * 31 + x * 17 + c * 7) % 101 + 1);
                }
        return [plain, weighted];
    }

    public static string TempDir(string name) => TestFiles.TempDir("teachers-full", name);
}
