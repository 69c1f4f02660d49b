namespace OlaVlm.Eval;

public sealed record ConfidenceInterval(double Mean, double HalfWidth, int N, double Level)
{
    public double Lower => Mean - HalfWidth;
    public double Upper => Mean + HalfWidth;
    public override string ToString() => $"{Mean:G4} ± {HalfWidth:G3} ({Level:P0} CI, n={N})";
}

public sealed record PearsonResult(double R, double PValue, int N);

/// Small statistics for reporting runs over seeds: mean, sample std, Student-t confidence interval,
/// Pearson correlation with a two-sided p-value, and a percentile bootstrap. The t distribution is
/// computed (regularised incomplete beta), not tabulated, so any n works.
public static class Stats
{
    public static double Mean(IReadOnlyList<double> x) =>
        x.Count > 0 ? x.Average() : throw new ArgumentException("Stats.Mean: no values");

    /// Sample standard deviation (n − 1 in the denominator); needs at least two values.
    public static double SampleStd(IReadOnlyList<double> x)
    {
        if (x.Count < 2) throw new ArgumentException($"Stats.SampleStd: needs at least 2 values, got {x.Count}");
        double m = x.Average();
        return Math.Sqrt(x.Sum(v => (v - m) * (v - m)) / (x.Count - 1));
    }

    /// mean ± t_{(1+level)/2, n−1} · s / √n.
    public static ConfidenceInterval TInterval(IReadOnlyList<double> x, double level = 0.95)
    {
        double t = StudentTQuantile((1 + level) / 2, x.Count - 1);
        return new ConfidenceInterval(Mean(x), t * SampleStd(x) / Math.Sqrt(x.Count), x.Count, level);
    }

    /// Pearson r and the two-sided p-value of t = r·√((n−2)/(1−r²)) with n − 2 degrees of freedom.
    public static PearsonResult Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException($"Stats.Pearson: {x.Count} x values but {y.Count} y values");
        if (x.Count < 3) throw new ArgumentException($"Stats.Pearson: needs at least 3 pairs, got {x.Count}");
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Count; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
        }
        if (sxx == 0 || syy == 0) throw new ArgumentException("Stats.Pearson: a constant series has no correlation");
        double r = Math.Clamp(sxy / Math.Sqrt(sxx * syy), -1, 1);
        int df = x.Count - 2;
        double p = Math.Abs(r) >= 1 ? 0 : 2 * (1 - StudentTCdf(Math.Abs(r) * Math.Sqrt(df / (1 - r * r)), df));
        return new PearsonResult(r, p, x.Count);
    }

    /// Percentile bootstrap interval of the mean (deterministic for a given seed).
    public static (double Lower, double Upper) BootstrapMean(IReadOnlyList<double> x, double level = 0.95, int resamples = 2000, int seed = 0)
    {
        if (x.Count == 0) throw new ArgumentException("Stats.BootstrapMean: no values");
        var rng = new Random(seed);
        var means = new double[resamples];
        for (int b = 0; b < resamples; b++)
        {
            double s = 0;
            for (int i = 0; i < x.Count; i++) s += x[rng.Next(x.Count)];
            means[b] = s / x.Count;
        }
        Array.Sort(means);
        double a = (1 - level) / 2;
        return (means[(int)Math.Floor(a * (resamples - 1))], means[(int)Math.Ceiling((1 - a) * (resamples - 1))]);
    }

    /// P(T ≤ t) for Student's t with `df` degrees of freedom.
    public static double StudentTCdf(double t, double df)
    {
        if (df <= 0) throw new ArgumentOutOfRangeException(nameof(df), df, "degrees of freedom must be positive");
        double tail = 0.5 * RegularizedBeta(df / (df + t * t), df / 2, 0.5);
        return t >= 0 ? 1 - tail : tail;
    }

    /// The p-quantile of Student's t (bisection on the CDF; |error| < 1e-10).
    public static double StudentTQuantile(double p, double df)
    {
        if (p <= 0 || p >= 1) throw new ArgumentOutOfRangeException(nameof(p), p, "probability must be in (0, 1)");
        if (p < 0.5) return -StudentTQuantile(1 - p, df);
        double lo = 0, hi = 1;
        while (StudentTCdf(hi, df) < p) hi *= 2;
        for (int i = 0; i < 200 && hi - lo > 1e-12; i++)
        {
            double mid = (lo + hi) / 2;
            if (StudentTCdf(mid, df) < p) lo = mid; else hi = mid;
        }
        return (lo + hi) / 2;
    }

    /// I_x(a, b) by its continued fraction (modified Lentz), using the symmetry for fast convergence.
    public static double RegularizedBeta(double x, double a, double b)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        double front = Math.Exp(LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x));
        if (x > (a + 1) / (a + b + 2)) return 1 - RegularizedBeta(1 - x, b, a);
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        d = Math.Abs(d) < tiny ? 1 / tiny : 1 / d;
        double f = d;
        for (int m = 1; m <= 500; m++)
        {
            for (int half = 0; half < 2; half++)
            {
                double num = half == 0
                    ? m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
                    : -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
                d = 1 + num * d; d = Math.Abs(d) < tiny ? 1 / tiny : 1 / d;
                c = 1 + num / c; if (Math.Abs(c) < tiny) c = tiny;
                f *= c * d;
                if (half == 1 && Math.Abs(c * d - 1) < 1e-15) return front * f / a;
            }
        }
        return front * f / a;
    }

    /// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~15 significant digits).
    public static double LogGamma(double x)
    {
        double[] c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
                      -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        x -= 1;
        double s = c[0];
        for (int i = 1; i < 9; i++) s += c[i] / (x + i);
        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(s);
    }
}
