using OlaVlm.Diagnostics;

namespace OlaCheck.Commands;

/// A shipped folder against the same files made again on this machine: tells rounding (another machine's kernels: the
/// same models, numbers within tolerance) from damage or another recipe. For the teachers:
///   dotnet run --project src/OlaCheck -c Release -- teachers --ship /tmp/teachers
///   dotnet run --project src/OlaCheck -c Release -- compare-shipped /tmp/teachers
public static class CompareShipped
{
    public static readonly Command Command = new("compare-shipped", "NEW [--against DIR]",
        "NEW (files made again, e.g. by `teachers --ship NEW`) against DIR (default data/teachers, or data/foundation for a foundation)", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("compare-shipped", args, options: ["--against"]);
        var fresh = Path.GetFullPath(a.Positional(0) ?? throw new UsageException("compare-shipped: NEW is missing"));
        string manifest = File.Exists(Path.Combine(fresh, "foundation.json")) ? "foundation.json" : "teachers.json";
        var against = a.Option("--against") is string s ? Path.GetFullPath(s)
            : Path.Combine(OlaVlm.Core.Paths.Data, manifest == "foundation.json" ? "foundation" : "teachers");
        var diffs = ShippedComparison.Compare(against, fresh, manifest);
        foreach (var d in diffs) Console.WriteLine($"{d.Verdict,-16} {d.File}: {d.Detail}");
        var worst = diffs.Max(d => d.Verdict);
        Console.WriteLine(worst switch
        {
            ShippedComparison.Verdict.Identical => $"{fresh} is bitwise identical to {against}",
            ShippedComparison.Verdict.WithinTolerance => $"{fresh} differs from {against} only within tolerance: rounding, as another machine " +
                                                         "or other kernel decisions give (not damage)",
            _ => $"{fresh} differs from {against} beyond tolerance: another recipe, or damage",
        });
        return worst == ShippedComparison.Verdict.Different ? 1 : 0;
    }
}
