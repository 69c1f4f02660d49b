namespace OlaVlm.Diagnostics;

/// Median and range of a few repeated measurements (per-round figures). The median, not the mean: one
/// round disturbed by another process should not move the figure.
public sealed record Spread(double Median, double Min, double Max, int Count)
{
    public static Spread Of(IEnumerable<double> values)
    {
        var v = values.Order().ToList();
        if (v.Count == 0) throw new ArgumentException("Spread.Of: no values");
        double median = v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
        return new Spread(median, v[0], v[^1], v.Count);
    }

    /// "12.3 (min 11.9, max 14.0)" with the given number format and scale (e.g. 1000 for ms).
    public string Format(string format = "0.00", double scale = 1) =>
        $"{(Median * scale).ToString(format)} (min {(Min * scale).ToString(format)}, max {(Max * scale).ToString(format)})";
}
