using OlaVlm.Tests.Teachers.FullScale;
using static TorchSharp.torch;

namespace OlaVlm.Tests;

/// Core.PilResize against Pillow 9.4's Image.resize (bicubic) on the teacher fixture images: every byte equal;
/// and its edge cases. Its bilinear filter is pinned through OneFormerPreprocessTests (the processor's resize), its
/// shortest-edge rule through ConvNextImageProcessorTests and UnClipTeacherTests.
public class PilResizeTests
{
    [Theory]
    [InlineData("resize_a_56x56", 0, 56, 56)]     // up both ways
    [InlineData("resize_a_17x45", 0, 17, 45)]     // down in x, up in y
    [InlineData("resize_b_61x97", 1, 61, 97)]     // down both ways (antialiased support)
    [InlineData("resize_b_300x7", 1, 300, 7)]     // vertical only
    public void MatchesPillowByteForByte(string key, int image, int outWidth, int outHeight)
    {
        var expected = TeacherFixtures.Read("pil_bicubic.safetensors")[key];
        Assert.Equal(new long[] { outHeight, outWidth, 3 }, expected.shape);
        using var img = TeacherFixtures.Images()[image];
        var ours = PilResize.Bicubic(img, outWidth, outHeight);
        var want = expected.to(ScalarType.Byte).data<byte>().ToArray();
        int differing = ours.Zip(want).Count(p => p.First != p.Second);
        Assert.True(differing == 0, $"{key}: {differing} of {want.Length} bytes differ from Pillow");
    }

    [Fact]
    public void SameSizeIsACopyAndBadSizesAreRefused()
    {
        var rgb = Enumerable.Range(0, 4 * 3 * 3).Select(i => (byte)i).ToArray();
        var same = PilResize.Bicubic(rgb, 4, 3, 4, 3);
        Assert.Equal(rgb, same);
        Assert.NotSame(rgb, same);
        Assert.Throws<ArgumentException>(() => PilResize.Bicubic(rgb, 5, 3, 4, 3));
        Assert.Throws<ArgumentException>(() => PilResize.Bicubic(rgb, 4, 3, 0, 3));
        Assert.Throws<ArgumentException>(() => PilResize.ShortestEdge(RgbPixels.FromBytes(rgb, 3, 4), 0));
    }

    [Theory]
    [InlineData(PilFilter.Bicubic)]
    [InlineData(PilFilter.Bilinear)]
    public void KeepsAConstantImage(PilFilter filter)
    {
        var flat = RgbPixels.FromBytes(Enumerable.Repeat((byte)93, 17 * 11 * 3).ToArray(), 11, 17);
        Assert.All(PilResize.Resize(flat, 40, 5, filter).Data, v => Assert.Equal(93, v));
        Assert.All(PilResize.Resize(flat, 3, 29, filter).Data, v => Assert.Equal(93, v));
    }

    /// torchvision's Resize(int) and transformers' shortest_edge: the short side to the edge, the long side int(edge·long/short).
    [Fact]
    public void ShortestEdgeKeepsTheAspectAsTorchvisionRoundsIt()
    {
        var wide = RgbPixels.FromBytes(new byte[45 * 29 * 3], 29, 45);
        Assert.Equal((40, 62), (PilResize.ShortestEdge(wide, 40).Height, PilResize.ShortestEdge(wide, 40).Width));
        var tall = RgbPixels.FromBytes(new byte[23 * 57 * 3], 57, 23);
        Assert.Equal((39, 16), (PilResize.ShortestEdge(tall, 16).Height, PilResize.ShortestEdge(tall, 16).Width));
    }
}
