using OlaVlm.Model;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp.PyBridge;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Model;

/// ConvNextImageProcessor against the reference preprocessing (expand2square + OpenCLIP's eval transform:
/// PIL bicubic shortest-edge resize, centre crop, OpenAI mean/std), fixture preprocess.safetensors from
/// environment/fixtures/encoder_convnext.py: upsampling and downsampling, wide and tall, padded and cropped.
public class ConvNextImageProcessorTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("wide", 40, true)]     // 45×29 → 45×45 (pad) → 40×40: shrink
    [InlineData("wide", 40, false)]    // 45×29 → 62×40 (grow) → crop left 11
    [InlineData("tall", 16, true)]     // 23×57 → 57×57 → 16×16
    [InlineData("tall", 16, false)]    // 23×57 → 16×39 → crop top round(11.5) = 12 (half to even)
    public void MatchesTheReferencePreprocessing(string image, int size, bool pad)
    {
        var sd = Safetensors.LoadStateDict(ConvNextTests.Fixture("preprocess.safetensors"));
        var hwc = sd[$"image_{image}"];
        int h = (int)hwc.shape[0], w = (int)hwc.shape[1];
        using var img = Image.LoadPixelData<Rgb24>(hwc.data<byte>().ToArray(), w, h);
        var got = new ConvNextImageProcessor(size, pad).Preprocess(img, CPU);
        var expected = sd[$"{image}_{size}_{(pad ? "pad" : "crop")}"];
        Assert.Equal(expected.shape, got.shape);
        double err = Tiny.MaxDiff(got, expected);
        output.WriteLine($"{image} {w}×{h} → {size} ({(pad ? "padded" : "cropped")}): max error {err:0.0e+0}");
        Assert.True(err <= 1e-6, $"max error {err}");
    }

    [Fact]
    public void PadsWithLlavasMeanColourAndBatches()
    {
        Assert.Equal(new Rgb24(122, 116, 104), ConvNextImageProcessor.PadColor);
        var (square, side, _) = ConvNextImageProcessor.ExpandToSquare(Enumerable.Repeat((byte)7, 4 * 2 * 3).ToArray(), 4, 2);
        Assert.Equal(4, side);
        Assert.Equal(new byte[] { 122, 116, 104 }, square[..3]);                   // row 0: padding ((4 − 2) // 2 = 1 row above)
        Assert.Equal(new byte[] { 7, 7, 7 }, square[(4 * 3)..(4 * 3 + 3)]);        // row 1: the image
        using var a = new Image<Rgb24>(30, 20, new Rgb24(10, 200, 30));
        using var b = new Image<Rgb24>(20, 30, new Rgb24(0, 0, 255));
        var batch = ConvNextImageProcessor.For(ConvNextConfig.Miniature(32)).Preprocess([a, b], CPU);
        Assert.Equal(new long[] { 2, 3, 32, 32 }, batch.shape);
        Assert.Equal((10 / 255f - 0.48145466f) / 0.26862954f, batch[0, 0, 16, 16].item<float>(), 1e-6);
    }
}
