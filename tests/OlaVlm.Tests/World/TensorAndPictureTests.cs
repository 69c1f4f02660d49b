using OlaVlm.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace OlaVlm.Tests.World;

public class TensorAndPictureTests
{
    [Fact]
    public void ImagesBecomeNormalisedTensors()
    {
        var s = new SceneGenerator(new WorldConfig()).Generate(5, "t");
        using var img = SceneFiles.ToImage(s);
        using var other = new Image<Rgb24>(32, 32, new Rgb24(255, 0, 0));
        using var t = ImageTensors.FromImages([img, other], 64, CPU);
        Assert.Equal(new long[] { 2, 3, 64, 64 }, t.shape);
        var clip = Normalization.Clip;
        Assert.Equal((s.Rgb[0] / 255f - clip.Mean[0]) / clip.Std[0], t[0, 0, 0, 0].item<float>(), 1e-5);
        Assert.Equal((1f - clip.Mean[0]) / clip.Std[0], t[1, 0, 10, 10].item<float>(), 1e-3);   // resized red stays red
        Assert.Equal((0f - clip.Mean[1]) / clip.Std[1], t[1, 1, 10, 10].item<float>(), 1e-3);

        using var d = ImageTensors.FromDepth([s.Depth, s.Depth], 64, 64, CPU);
        Assert.Equal(new long[] { 2, 1, 64, 64 }, d.shape);
        Assert.Equal(s.Depth[64 * 40 + 7], d[1, 0, 40, 7].item<float>());
        using var g = ImageTensors.FromSeg([s.Seg], 64, 64, CPU);
        Assert.Equal(ScalarType.Int64, g.dtype);
        Assert.Equal((long)s.Seg[64 * 50 + 3], g[0, 50, 3].item<long>());
        Assert.Throws<ArgumentException>(() => ImageTensors.FromSeg([new byte[10]], 64, 64, CPU));
    }

    [Fact]
    public void ColormapsAndMontageHaveTheRightSizeAndOrder()
    {
        var s = new SceneGenerator(new WorldConfig()).Generate(6, "c");
        using var depth = Colormaps.Depth(s.Depth, 64, 64);
        using var seg = Colormaps.Segmentation(s.Seg, 64, 64);
        // near floor (bottom row) is brighter than the sky (top row)
        Rgb24 near = depth[32, 63], far = depth[32, 0];
        Assert.True(near.R + near.G + near.B > far.R + far.G + far.B);
        Assert.NotEqual(seg[0, 0], seg[0, 63]);   // sky vs floor
        using var grid = Colormaps.Montage([depth, seg, depth], columns: 2, cell: 32, pad: 2);
        Assert.Equal((2 * 34 + 2, 2 * 34 + 2), (grid.Width, grid.Height));
    }
}
