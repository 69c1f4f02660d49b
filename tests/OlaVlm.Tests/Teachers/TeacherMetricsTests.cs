using OlaVlm.Teachers;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Teachers;

public class TeacherMetricsTests
{
    // pred/gt pairs: ratios 1, 2, 1.5, 2 and one invalid pixel (gt 0) that both metrics skip.
    static readonly Tensor Pred = tensor(new float[] { 1, 2, 3, 4, 5 }, [1, 5]);
    static readonly Tensor Gt = tensor(new float[] { 1, 1, 2, 8, 0 }, [1, 5]);

    [Fact]
    public void AbsRelByHand() =>
        // (0/1 + 1/1 + 1/2 + 4/8) / 4 = 0.5
        Assert.Equal(0.5, TeacherMetrics.AbsRel(Pred, Gt), 1e-6);

    [Fact]
    public void Delta1ByHand()
    {
        // max(p/g, g/p) = 1, 2, 1.5, 2 → only the first is < 1.25.
        Assert.Equal(0.25, TeacherMetrics.Delta1(Pred, Gt), 1e-6);
        Assert.Equal(0.5, TeacherMetrics.Delta1(Pred, Gt, threshold: 1.6), 1e-6);
    }

    [Fact]
    public void MeanIoUByHand_IgnoresUnlabelledPixelsAndAbsentClasses()
    {
        var pred = tensor(new long[] { 0, 0, 1, 1, 2, 2, 3 });
        var gt = tensor(new long[] { 0, 1, 1, 1, 2, 0, -1 });
        // IoU0 = 1/3, IoU1 = 2/3, IoU2 = 1/2, class 3 absent (its only pixel is unlabelled).
        var (miou, per) = TeacherMetrics.MeanIoU(pred, gt, 4);
        Assert.Equal(0.5, miou, 1e-6);
        Assert.Equal(1.0 / 3, per[0], 1e-6);
        Assert.Equal(2.0 / 3, per[1], 1e-6);
        Assert.Equal(0.5, per[2], 1e-6);
        Assert.True(double.IsNaN(per[3]));
        var cm = TeacherMetrics.ConfusionMatrix(pred, gt, 4);
        Assert.Equal(2, cm[1, 1]); Assert.Equal(1, cm[0, 2]); Assert.Equal(6, cm.Cast<long>().Sum());
    }

    [Fact]
    public void MeanIoURejectsLabelsOutOfRange()
    {
        var e = Assert.Throws<ArgumentException>(() => TeacherMetrics.MeanIoU(tensor(new long[] { 0, 1 }), tensor(new long[] { 0, 5 }), 3));
        Assert.Contains("ground-truth", e.Message);
    }

    [Fact]
    public void PsnrByHand()
    {
        // MSE = 4/4 = 1, range 2 → 10·log10(4) ≈ 6.0206 dB.
        var p = zeros(4); var t = tensor(new float[] { 0, 0, 0, 2 });
        Assert.Equal(10 * Math.Log10(4), TeacherMetrics.Psnr(p, t, 2.0), 1e-6);
        Assert.True(double.IsPositiveInfinity(TeacherMetrics.Psnr(t, t, 2.0)));
    }
}
