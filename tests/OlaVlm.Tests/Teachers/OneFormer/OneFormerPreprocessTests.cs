using System.Text.Json;
using System.Text.Json.Nodes;
using OlaVlm.Teachers.OneFormer;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers.OneFormer;

/// `_get_seg_targets`' image path (PIL 768² bicubic, then OneFormerProcessor: PIL bilinear by the shortest-edge
/// rule, rescale, normalise) against Pillow 9.4 + numpy on random RGB images: small sizes stored whole, the
/// reference's 768 → 800 sizes as sums and samples.
public class OneFormerPreprocessTests(ITestOutputHelper output)
{
    static readonly JsonNode Fixture = JsonNode.Parse(File.ReadAllText(OneFormerFixture.Preprocess))!;

    static OneFormerPreprocess For(JsonNode c) => new(new OneFormerProcessorConfig
    {
        ShortestEdge = c["shortest_edge"]!.GetValue<int>(), LongestEdge = c["longest_edge"]!.GetValue<int>(),
        ImageMean = Fixture["mean"]!.Deserialize<double[]>()!, ImageStd = Fixture["std"]!.Deserialize<double[]>()!,
        RescaleFactor = Fixture["rescale_factor"]!.GetValue<double>(),
    }, c["square"]!.GetValue<int>());

    static RgbPixels Input(JsonNode c) =>
        RgbPixels.FromBytes(c["rgb"]!.AsArray().Select(v => (byte)v!.GetValue<int>()).ToArray(), c["height"]!.GetValue<int>(), c["width"]!.GetValue<int>());

    static string Sha256(byte[] data) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(data)).ToLowerInvariant();

    static byte[] Bytes(JsonNode n) => n.AsArray().Select(v => (byte)v!.GetValue<int>()).ToArray();

    [Fact]
    public void SmallImagesMatchPillowAndNumpyExactly()
    {
        foreach (var c in Fixture["cases"]!.AsArray())
        {
            var pre = For(c!);
            var square = pre.Square(Input(c!));
            Assert.Equal(Bytes(c!["square_rgb"]!), square.Data);
            var resized = pre.Resize(square);
            var shape = c["resized_shape"]!.Deserialize<int[]>()!;
            Assert.Equal((shape[0], shape[1]), (resized.Height, resized.Width));
            Assert.Equal(Bytes(c["resized_rgb"]!), resized.Data);
            var values = pre.PixelValues(Input(c), out _, out _);
            var expected = c["pixel_values"]!.AsArray().Select(v => (float)v!.GetValue<double>()).ToArray();
            double err = values.Zip(expected).Max(p => Math.Abs(p.First - p.Second));
            output.WriteLine($"{c["height"]}×{c["width"]} → {pre.SquareSize}² → {shape[0]}×{shape[1]}: pixel bytes equal, pixel_values max error {err:E2}");
            Assert.Equal(0, err);
        }
    }

    [Fact]
    public void ReferenceSizesMatchPillowAndNumpy()
    {
        var c = Fixture["full_size"]!;
        var pre = For(c);
        Assert.Equal(768, pre.SquareSize);
        var square = pre.Square(Input(c));
        Assert.Equal(c["square_rgb_sum"]!.GetValue<long>(), square.Data.Sum(b => (long)b));
        Assert.Equal(c["square_rgb_sha256"]!.GetValue<string>(), Sha256(square.Data));
        var resized = pre.Resize(square);
        Assert.Equal((800, 800), (resized.Height, resized.Width));
        Assert.Equal(c["resized_rgb_sum"]!.GetValue<long>(), resized.Data.Sum(b => (long)b));
        Assert.Equal(c["resized_rgb_sha256"]!.GetValue<string>(), Sha256(resized.Data));
        var values = new float[3 * 800 * 800];
        pre.Normalize(resized, values);
        var sums = c["channel_sums"]!.Deserialize<double[]>()!;
        for (int ch = 0; ch < 3; ch++)
        {
            double sum = 0;
            for (int i = 0; i < 800 * 800; i++) sum += values[ch * 800 * 800 + i];
            Assert.True(Math.Abs(sum - sums[ch]) <= 1e-6 * Math.Max(1, Math.Abs(sums[ch])), $"channel {ch}: sum {sum} vs {sums[ch]}");
        }
        var index = c["sample_index"]!.Deserialize<int[]>()!;
        var sample = c["sample_values"]!.Deserialize<double[]>()!;
        for (int i = 0; i < index.Length; i++) Assert.Equal((float)sample[i], values[index[i]]);
        Assert.Equal(c["pixel_values_sha256"]!.GetValue<string>(), Sha256(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray()));
        output.WriteLine($"29×37 → 768² → 800²: bytes and float32 pixel_values bit-identical (SHA-256), channel sums {string.Join(", ", sums.Select(s => s.ToString("F3")))} and 64 samples equal");
    }

    [Fact]
    public void ShortestEdgeRuleIsTransformers()
    {
        foreach (var s in Fixture["sizes"]!.AsArray())
        {
            var got = OneFormerPreprocess.ProcessorSize(s!["height"]!.GetValue<int>(), s["width"]!.GetValue<int>(),
                                                        s["shortest_edge"]!.GetValue<int>(), s["longest_edge"]!.GetValue<int>());
            var want = s["out"]!.Deserialize<int[]>()!;
            Assert.Equal((want[0], want[1]), got);
        }
    }

    [Fact]
    public void ImagesBecomeOneBatchOfPixelValues()
    {
        var c = Fixture["cases"]![0]!;
        var pre = For(c);
        var rgb = Input(c);
        using var image = Image.LoadPixelData<Rgb24>(rgb.Data, rgb.Width, rgb.Height);
        using var batch = pre.PixelValues([image, image], CPU);
        var shape = c["pixel_values_shape"]!.Deserialize<long[]>()!;
        Assert.Equal(new long[] { 2, 3, shape[1], shape[2] }, batch.shape);
        var expected = c["pixel_values"]!.AsArray().Select(v => (float)v!.GetValue<double>()).ToArray();
        Assert.Equal(expected, batch[1].contiguous().data<float>().ToArray());
    }

    [Fact]
    public void PreprocessorConfigIsRead()
    {
        var cfg = OneFormerProcessorConfig.FromJson(Path.Combine(OneFormerFixture.TinyDir, "preprocessor_config.json"));
        Assert.Equal((800, 1333, PilFilter.Bilinear), (cfg.ShortestEdge, cfg.LongestEdge, cfg.Resample));
        Assert.Equal(Fixture["mean"]!.Deserialize<double[]>(), cfg.ImageMean);
        var dir = OneFormerFixture.TempDir("preprocessor");
        var path = Path.Combine(dir, "preprocessor_config.json");
        File.WriteAllText(path, """{"size": 640, "max_size": 2560, "resample": 0}""");
        var e = Assert.Throws<InvalidDataException>(() => OneFormerProcessorConfig.FromJson(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("resample 0", e.Message);
        File.WriteAllText(path, """{"size": 640, "max_size": 2560}""");
        Assert.Equal((640, 2560), (OneFormerProcessorConfig.FromJson(path).ShortestEdge, OneFormerProcessorConfig.FromJson(path).LongestEdge));
    }
}
