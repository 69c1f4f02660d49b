using static TorchSharp.torch;

namespace OlaVlm.Foundation;

/// Top-k accuracy in one direction, next to what a random ranking would score.
public sealed record RetrievalScore(string Direction, int K, double Accuracy, double Chance);

/// Image↔text retrieval as CLIP reports it: rank every caption for each image (and every image for each
/// caption) by cosine similarity; a query scores when a correct item is among its top k.
/// Several images can share one caption ("there is 1 object on the floor: a small red cube."), so items
/// carry a group id and any item of the query's group counts as correct; distinct ids = the usual metric.
public static class Retrieval
{
    /// similarity [N images, N texts] (row i's own text is column i). groups: per pair (null = all distinct).
    public static List<RetrievalScore> Evaluate(Tensor similarity, IReadOnlyList<int>? groups = null, params int[] ks)
    {
        if (similarity.dim() != 2 || similarity.shape[0] != similarity.shape[1])
            throw new Core.ShapeMismatchException($"Retrieval: similarity must be square [N, N], got {Core.Checked.Fmt(similarity.shape)}");
        int n = (int)similarity.shape[0];
        var g = groups?.ToArray() ?? Enumerable.Range(0, n).ToArray();
        if (g.Length != n) throw new ArgumentException($"Retrieval: {g.Length} group ids for {n} pairs");
        if (ks.Length == 0) ks = [1, 5];
        var sim = similarity.detach().cpu().to(ScalarType.Float64);
        var rows = Rows(sim, n);
        var cols = Rows(sim.t(), n);
        var result = new List<RetrievalScore>();
        foreach (var k in ks)
        {
            if (k < 1) throw new ArgumentOutOfRangeException(nameof(ks), $"Retrieval: k must be >= 1 (got {k})");
            result.Add(new("image→text", k, TopK(rows, g, k), Chance(g, k)));
            result.Add(new("text→image", k, TopK(cols, g, k), Chance(g, k)));
        }
        return result;
    }

    static double[][] Rows(Tensor m, int n)
    {
        var flat = m.contiguous().data<double>().ToArray();
        return Enumerable.Range(0, n).Select(i => flat.AsSpan(i * n, n).ToArray()).ToArray();
    }

    /// Fraction of queries whose top k (by descending score; ties broken by index) include a same-group item.
    public static double TopK(double[][] scores, int[] groups, int k)
    {
        int hits = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            var top = Enumerable.Range(0, scores[i].Length).OrderByDescending(j => scores[i][j]).ThenBy(j => j).Take(k);
            if (top.Any(j => groups[j] == groups[i])) hits++;
        }
        return scores.Length == 0 ? 0 : (double)hits / scores.Length;
    }

    /// Expected top-k accuracy of a random ranking: 1 − P(none of the query's g correct items among k
    /// drawn from n) = 1 − C(n−g, k) / C(n, k), averaged over queries.
    public static double Chance(int[] groups, int k)
    {
        int n = groups.Length;
        if (n == 0) return 0;
        var size = groups.GroupBy(x => x).ToDictionary(x => x.Key, x => x.Count());
        return groups.Average(q =>
        {
            double miss = 1;
            for (int j = 0; j < Math.Min(k, n); j++) miss *= Math.Max(0, n - size[q] - j) / (double)(n - j);
            return 1 - miss;
        });
    }
}
