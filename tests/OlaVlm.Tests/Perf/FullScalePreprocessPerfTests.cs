using System.Diagnostics;
using OlaVlm.Tests.FullScale;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Perf;

/// Figures, not checks: the CPU time per image of each preprocessing a full-scale PT step does from the raw image —
/// the tower's processor and the three teachers' — on a 640×480 image, on one thread. Preprocessing does not depend
/// on the weights, so the tiny random teachers give the released ones' cost. docs/full-scale.md quotes these.
/// `dotnet test tests/OlaVlm.Tests --settings tests/perf.runsettings --filter "Category=Perf&FullyQualifiedName~FullScalePreprocessPerf" --logger "console;verbosity=detailed"`.
[Trait("Category", "Perf")]
public class FullScalePreprocessPerfTests(ITestOutputHelper output)
{
    [Fact]
    public void PreprocessingPerImageAt640x480()
    {
        var rng = new Random(0);
        var pixels = new byte[640 * 480 * 3];
        rng.NextBytes(pixels);
        using var image = Image.LoadPixelData<Rgb24>(pixels, 640, 480);
        var images = Enumerable.Repeat(image, 8).ToList();
        var tower = TowerImageProcessor.ForClip(TinyCheckpoints.Inputs.Vision, padToSquare: true);
        tower.Threads = 1;
        RawImageTargets.Threads = 1;
        Report("CLIP ViT-L/14-336 processor (expand2square, 336² crop)", () => tower.Pixels(images, CPU).Dispose());
        foreach (var task in new[] { OlaTask.Depth, OlaTask.Seg, OlaTask.Gen })
        {
            using var teacher = FullScaleShowcase.Tiny(task, CPU);
            Report($"{teacher.Name} preprocessing", () => RawImageTargets.Preprocess(teacher, images).Dispose());
        }
        RawImageTargets.Threads = Math.Max(1, Environment.ProcessorCount);
    }

    void Report(string what, Action run)
    {
        run();   // warm-up
        var sw = Stopwatch.StartNew();
        run();
        var line = $"{what}: {sw.Elapsed.TotalMilliseconds / 8:F1} ms per 640×480 image on one thread ({Environment.ProcessorCount} cores here)";
        output.WriteLine(line);
        Console.WriteLine(line);
    }
}
