using OlaVlm.Core;
using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// The standard metrics for each teacher's task, on plain tensors.
public static class TeacherMetrics
{
    /// Segmentation label meaning "not labelled": ignored by the loss and by mIoU.
    public const long IgnoreIndex = -1;

    /// Pixels whose ground-truth depth is usable: finite and > 0.
    public static Tensor ValidDepth(Tensor gt) => gt.isfinite().logical_and(gt.gt(0));

    /// AbsRel = mean over valid pixels of |pred − gt| / gt (lower is better).
    public static double AbsRel(Tensor pred, Tensor gt)
    {
        using var scope = NewDisposeScope();
        var (p, g) = Valid(pred, gt, "AbsRel");
        return ((p - g).abs() / g).mean().item<double>();
    }

    /// δ<thr = fraction of valid pixels with max(pred/gt, gt/pred) < thr (default 1.25; higher is better).
    public static double Delta1(Tensor pred, Tensor gt, double threshold = 1.25)
    {
        using var scope = NewDisposeScope();
        var (p, g) = Valid(pred, gt, "Delta1");
        var ratio = maximum(p / g, g / p);
        return ratio.lt(threshold).to(float64).mean().item<double>();
    }

    static (Tensor, Tensor) Valid(Tensor pred, Tensor gt, string what)
    {
        if (!pred.shape.SequenceEqual(gt.shape))
            throw new ShapeMismatchException($"{what}: prediction {Checked.Fmt(pred.shape)} vs ground truth {Checked.Fmt(gt.shape)}");
        var g = gt.to(float64).cpu(); var p = pred.to(float64).cpu();
        var valid = ValidDepth(g).logical_and(p.gt(0));
        if (!valid.any().item<bool>()) throw new ArgumentException($"{what}: no valid depth pixels (need finite gt > 0 and pred > 0)");
        return (p.masked_select(valid), g.masked_select(valid));
    }

    /// Confusion matrix [K, K] (rows = ground truth, columns = prediction) over pixels whose label is
    /// not IgnoreIndex. Labels or predictions outside [0, K) throw, naming the bad value.
    public static long[,] ConfusionMatrix(Tensor pred, Tensor gt, int numClasses)
    {
        if (!pred.shape.SequenceEqual(gt.shape))
            throw new ShapeMismatchException($"ConfusionMatrix: prediction {Checked.Fmt(pred.shape)} vs ground truth {Checked.Fmt(gt.shape)}");
        using var scope = NewDisposeScope();
        var g = gt.to(int64).cpu().flatten(); var p = pred.to(int64).cpu().flatten();
        var keep = g.ne(IgnoreIndex);
        g = g.masked_select(keep); p = p.masked_select(keep);
        foreach (var (t, name) in new[] { (g, "ground-truth label"), (p, "predicted class") })
            if (t.numel() > 0 && (t.min().item<long>() < 0 || t.max().item<long>() >= numClasses))
                throw new ArgumentException($"ConfusionMatrix: {name} outside [0, {numClasses}) (min {t.min().item<long>()}, max {t.max().item<long>()})");
        var counts = bincount(g * numClasses + p, minlength: numClasses * numClasses).data<long>().ToArray();
        var cm = new long[numClasses, numClasses];
        for (int i = 0; i < numClasses; i++) for (int j = 0; j < numClasses; j++) cm[i, j] = counts[i * numClasses + j];
        return cm;
    }

    /// Per-class IoU = TP / (TP + FP + FN); mIoU = mean over classes present in ground truth or
    /// prediction (union > 0). Absent classes get NaN in the per-class array.
    public static (double MeanIoU, double[] PerClass) MeanIoU(long[,] confusion)
    {
        int k = confusion.GetLength(0);
        var iou = new double[k];
        for (int c = 0; c < k; c++)
        {
            long tp = confusion[c, c], row = 0, col = 0;
            for (int j = 0; j < k; j++) { row += confusion[c, j]; col += confusion[j, c]; }
            long union = row + col - tp;
            iou[c] = union == 0 ? double.NaN : (double)tp / union;
        }
        var present = iou.Where(v => !double.IsNaN(v)).ToArray();
        return (present.Length == 0 ? double.NaN : present.Average(), iou);
    }

    public static (double MeanIoU, double[] PerClass) MeanIoU(Tensor pred, Tensor gt, int numClasses) =>
        MeanIoU(ConfusionMatrix(pred, gt, numClasses));

    /// PSNR = 10·log10(range² / MSE) in dB; +∞ for identical images.
    public static double Psnr(Tensor pred, Tensor target, double dataRange)
    {
        if (!pred.shape.SequenceEqual(target.shape))
            throw new ShapeMismatchException($"Psnr: prediction {Checked.Fmt(pred.shape)} vs target {Checked.Fmt(target.shape)}");
        if (dataRange <= 0) throw new ArgumentOutOfRangeException(nameof(dataRange), dataRange, "PSNR needs a positive data range");
        using var scope = NewDisposeScope();
        double mse = (pred.to(float64).cpu() - target.to(float64).cpu()).square().mean().item<double>();
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(dataRange * dataRange / mse);
    }
}

/// A teacher's validation metrics. `Values` is a flat name → number view for logs and JSON.
public abstract record TeacherScore
{
    public abstract IReadOnlyDictionary<string, double> Values { get; }
    public sealed override string ToString() => string.Join(", ", Values.Select(kv => $"{kv.Key} {kv.Value:0.####}"));
}

public sealed record DepthScore(double AbsRel, double Delta1) : TeacherScore
{
    public override IReadOnlyDictionary<string, double> Values => new Dictionary<string, double> { ["AbsRel"] = AbsRel, ["delta1"] = Delta1 };
}

public sealed record SegScore(double MeanIoU, double[] PerClassIoU) : TeacherScore
{
    public override IReadOnlyDictionary<string, double> Values => new Dictionary<string, double> { ["mIoU"] = MeanIoU };
}

public sealed record GenScore(double Psnr, double DataRange) : TeacherScore
{
    public override IReadOnlyDictionary<string, double> Values => new Dictionary<string, double> { ["PSNR"] = Psnr, ["range"] = DataRange };
}
