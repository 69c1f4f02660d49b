using OlaVlm.Teachers;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers.FullScale;

/// PilResize against Pillow 9.4's Image.resize(size) (bicubic) on the fixture images: every byte equal.
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
        var ours = OlaVlm.Teachers.PilResize.Bicubic(img, outWidth, outHeight);
        var want = expected.to(ScalarType.Byte).data<byte>().ToArray();
        int differing = ours.Zip(want).Count(p => p.First != p.Second);
        Assert.True(differing == 0, $"{key}: {differing} of {want.Length} bytes differ from Pillow");
    }

    [Fact]
    public void SameSizeIsACopyAndBadSizesAreRefused()
    {
        var rgb = Enumerable.Range(0, 4 * 3 * 3).Select(i => (byte)i).ToArray();
        Assert.Equal(rgb, OlaVlm.Teachers.PilResize.Bicubic(rgb, 4, 3, 4, 3));
        Assert.Throws<ArgumentException>(() => OlaVlm.Teachers.PilResize.Bicubic(rgb, 5, 3, 4, 3));
        Assert.Throws<ArgumentException>(() => OlaVlm.Teachers.PilResize.Bicubic(rgb, 4, 3, 0, 3));
    }
}
