using OlaVlm.Eval;

namespace OlaVlm.Tests.Eval;

public class StatsTests
{
    [Fact]
    public void MeanStdAndTIntervalForThreeValues()
    {
        double[] x = [1, 2, 3];
        Assert.Equal(2, Stats.Mean(x));
        Assert.Equal(1, Stats.SampleStd(x), 1e-12);
        var ci = Stats.TInterval(x);
        // t_{0.975, 2} = 4.302653; half width = 4.302653 · 1 / √3.
        Assert.Equal(4.302653 / Math.Sqrt(3), ci.HalfWidth, 1e-5);
        Assert.Equal(2 - ci.HalfWidth, ci.Lower, 1e-12);
        Assert.Equal(3, ci.N);
        Assert.Throws<ArgumentException>(() => Stats.SampleStd([5.0]));
    }

    [Theory]
    [InlineData(1, 12.706205)]
    [InlineData(2, 4.302653)]
    [InlineData(5, 2.570582)]
    [InlineData(10, 2.228139)]
    [InlineData(30, 2.042272)]
    [InlineData(1000, 1.962339)]
    public void TQuantilesMatchTables(int df, double t975) =>
        Assert.Equal(t975, Stats.StudentTQuantile(0.975, df), 1e-5);

    [Fact]
    public void TCdfKnownValues()
    {
        Assert.Equal(0.75, Stats.StudentTCdf(1, 1), 1e-10);          // Cauchy
        Assert.Equal(0.5, Stats.StudentTCdf(0, 7), 1e-12);
        Assert.Equal(0.025, Stats.StudentTCdf(-2.228139, 10), 1e-6);
    }

    [Fact]
    public void PearsonOfALineIsOneAndAKnownSetMatches()
    {
        double[] x = [1, 2, 3, 4, 5];
        var line = Stats.Pearson(x, x.Select(v => 2 * v + 1).ToArray());
        Assert.Equal(1, line.R, 1e-12);
        Assert.Equal(0, line.PValue, 1e-12);
        Assert.Equal(-1, Stats.Pearson(x, x.Select(v => -v).ToArray()).R, 1e-12);
        // y = 2,4,5,4,5: r = 0.6/√0.6 ... = √0.6 = 0.774597; t = 2.12132 on 3 df → p = 0.12402.
        var r = Stats.Pearson(x, [2, 4, 5, 4, 5]);
        Assert.Equal(Math.Sqrt(0.6), r.R, 1e-10);
        Assert.Equal(0.12402, r.PValue, 1e-4);
    }

    [Fact]
    public void BootstrapIntervalContainsTheMeanAndIsReproducible()
    {
        double[] x = [0.51, 0.55, 0.53, 0.58, 0.52, 0.54];
        var a = Stats.BootstrapMean(x, seed: 3);
        Assert.True(a.Lower <= x.Average() && x.Average() <= a.Upper);
        Assert.Equal(a, Stats.BootstrapMean(x, seed: 3));
    }
}
