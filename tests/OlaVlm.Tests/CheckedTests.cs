using OlaVlm.Core;
using static TorchSharp.torch;

namespace OlaVlm.Tests;

public class CheckedTests
{
    [Fact]
    public void MatMulWithBadShapesThrowsNamingBothShapes_AndTheProcessLivesOn()
    {
        using var a = randn(2, 3, 4);
        using var b = randn(5, 6);
        var e = Assert.Throws<ShapeMismatchException>(() => Checked.MatMul(a, b));
        Assert.Contains("[2, 3, 4]", e.Message);
        Assert.Contains("[5, 6]", e.Message);
        // Still alive: a real computation after the failure.
        using var ok = Checked.MatMul(a, randn(4, 6));
        Assert.Equal(new long[] { 2, 3, 6 }, ok.shape);
    }

    [Fact]
    public void MatMulMatchesTorchForBroadcastBatches()
    {
        using var a = randn(3, 1, 2, 4);
        using var b = randn(5, 4, 7);
        using var c = Checked.MatMul(a, b);
        Assert.Equal(new long[] { 3, 5, 2, 7 }, c.shape);
        Assert.True(allclose(c, einsum("xyik,ykj->xyij", a.expand(3, 5, 2, 4), b)));
        Assert.Throws<ShapeMismatchException>(() => Checked.MatMul(randn(2, 2, 4), randn(3, 4, 1)));
    }

    [Fact]
    public void OtherOpsThrowCatchableExceptions()
    {
        // mm and cat go through libtorch's checked path: a .NET exception, not a crash.
        Assert.ThrowsAny<Exception>(() => mm(randn(2, 3), randn(4, 5)));
        Assert.ThrowsAny<Exception>(() => cat([randn(2, 3), randn(2, 4)], 0));
    }
}
