using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// A shipped folder (data/teachers, data/foundation) against the same files made again (`OlaCheck teachers --ship DIR`,
/// `OlaCheck foundations --ship DIR`), file by file. Bitwise equality holds only on a machine with the same kernel
/// decisions (Core.Reproducibility); elsewhere training takes other rounding and its weights drift apart while
/// the models stay as good. So a file is "identical", "within tolerance" (the same tensors, keys and settings, numbers
/// close: what another machine gives), or "different" (another recipe, or damage).
public static class ShippedComparison
{
    public enum Verdict { Identical, WithinTolerance, Different }

    public sealed record FileDiff(string File, Verdict Verdict, string Detail);

    /// Tolerances: Weights, the relative L2 distance ‖a − b‖ / ‖b‖ of each tensor; Numbers, the relative difference of
    /// each number in the JSON files (scores, losses, settings). Keys whose values always differ between runs
    /// (times, hashes of the weights, the machine) are not compared.
    public sealed record Tolerance(double Weights = 0.25, double Numbers = 0.02);

    static readonly HashSet<string> Volatile = ["seconds", "trainSeconds", "TrainSeconds", "Seconds", "weightsHash", "sha256", "machine", "savedUtc", FileHash.SelfKey];

    public static IReadOnlyList<FileDiff> Compare(string shipped, string regenerated, string manifest, Tolerance? tol = null)
    {
        tol ??= new Tolerance();
        var listed = OlaVlm.Core.JsonFile.Parse(Path.Combine(shipped, manifest))["sha256"]?.AsObject()
                     ?? throw new InvalidDataException($"{shipped}/{manifest} lists no sha256");
        var files = listed.Select(kv => kv.Key).Append(manifest).ToList();
        return files.Select(f => CompareFile(f, Path.Combine(shipped, f), Path.Combine(regenerated, f), tol)).ToList();
    }

    static FileDiff CompareFile(string name, string a, string b, Tolerance tol)
    {
        if (!File.Exists(b)) return new(name, Verdict.Different, $"missing from the regenerated folder");
        if (Core.FileHash.Sha256(a) == Core.FileHash.Sha256(b)) return new(name, Verdict.Identical, "same bytes");
        return Path.GetExtension(name) switch
        {
            ".safetensors" => Tensors(name, a, b, tol),
            ".json" or ".jsonl" => Numbers(name, a, b, tol),
            _ => new(name, Verdict.Different, "bytes differ (not a format compared within tolerance)"),
        };
    }

    static FileDiff Tensors(string name, string a, string b, Tolerance tol)
    {
        var x = Checkpoint.Read(a);
        var y = Checkpoint.Read(b);
        try
        {
            if (!x.Keys.Order().SequenceEqual(y.Keys.Order())) return new(name, Verdict.Different, "the tensors' names differ");
            double worst = 0; string worstKey = "";
            foreach (var (k, t) in x)
            {
                var u = y[k];
                if (!t.shape.SequenceEqual(u.shape) || t.dtype != u.dtype) return new(name, Verdict.Different, $"'{k}' has another shape or dtype");
                if (!is_floating_point(t)) { if (!t.equal(u).item<bool>()) return new(name, Verdict.Different, $"'{k}' differs"); continue; }
                using var scope = NewDisposeScope();
                double den = u.to(float64).norm().item<double>(), num = (t.to(float64) - u.to(float64)).norm().item<double>();
                double rel = den > 0 ? num / den : num;
                if (rel > worst) (worst, worstKey) = (rel, k);
            }
            var detail = $"largest relative L2 distance {worst:G3} ('{worstKey}'; tolerance {tol.Weights})";
            return new(name, worst <= tol.Weights ? Verdict.WithinTolerance : Verdict.Different, detail);
        }
        finally { foreach (var t in x.Values.Concat(y.Values)) t.Dispose(); }
    }

    static FileDiff Numbers(string name, string a, string b, Tolerance tol)
    {
        var lines = Path.GetExtension(name) == ".jsonl";
        var (x, y) = (Parse(a, lines), Parse(b, lines));
        var diffs = new List<string>();
        double worst = 0;
        Walk(x, y, "", tol, diffs, ref worst);
        return diffs.Count == 0
            ? new(name, Verdict.WithinTolerance, $"largest relative difference of a number {worst:G3} (tolerance {tol.Numbers})")
            : new(name, Verdict.Different, string.Join("; ", diffs.Take(3)) + (diffs.Count > 3 ? $"; and {diffs.Count - 3} more" : ""));
    }

    static JsonNode? Parse(string path, bool lines) => lines
        ? new JsonArray(Core.StrictText.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)).ToArray())
        : Core.JsonFile.Parse(path);

    static void Walk(JsonNode? x, JsonNode? y, string path, Tolerance tol, List<string> diffs, ref double worst)
    {
        switch (x, y)
        {
            case (JsonObject ox, JsonObject oy):
                foreach (var k in ox.Select(kv => kv.Key).Union(oy.Select(kv => kv.Key)).Where(k => !Volatile.Contains(k)))
                    Walk(ox[k], oy[k], $"{path}/{k}", tol, diffs, ref worst);
                break;
            case (JsonArray ax, JsonArray ay) when ax.Count == ay.Count:
                for (int i = 0; i < ax.Count; i++) Walk(ax[i], ay[i], $"{path}[{i}]", tol, diffs, ref worst);
                break;
            case (JsonValue vx, JsonValue vy) when vx.TryGetValue(out double dx) && vy.TryGetValue(out double dy):
                double rel = dx == dy ? 0 : Math.Abs(dx - dy) / Math.Max(Math.Abs(dx), Math.Abs(dy));
                worst = Math.Max(worst, rel);
                if (rel > tol.Numbers) diffs.Add($"{path}: {dx} vs {dy}");
                break;
            default:
                if (!JsonNode.DeepEquals(x, y)) diffs.Add($"{path}: {x?.ToJsonString() ?? "missing"} vs {y?.ToJsonString() ?? "missing"}");
                break;
        }
    }
}
