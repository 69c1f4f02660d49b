using OlaVlm.Foundation;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Foundation;

public class MetricTests
{
    [Fact]
    public void Retrieval_matches_a_hand_computation()
    {
        // Rows = images, columns = texts; the diagonal is the true pairing.
        //          t0   t1   t2   t3
        double[,] s = { { 0.9, 0.1, 0.0, 0.2 },    // i0: t0 first          → top-1 hit
                        { 0.8, 0.3, 0.1, 0.0 },    // i1: t0, t1            → top-1 miss, top-2 hit
                        { 0.0, 0.1, 0.2, 0.5 },    // i2: t3, t2            → miss, top-2 hit
                        { 0.1, 0.0, 0.7, 0.6 } };  // i3: t2, t3            → miss, top-2 hit
        using var sim = tensor(s);
        var r = Retrieval.Evaluate(sim, null, 1, 2);
        double Acc(string dir, int k) => r.Single(x => x.Direction == dir && x.K == k).Accuracy;
        Assert.Equal(0.25, Acc("image→text", 1), 1e-9);
        Assert.Equal(1.0, Acc("image→text", 2), 1e-9);
        // Columns: t0 → i0 (0.9) hit; t1 → i1 (0.3) hit; t2 → i3 (0.7) miss, then i2 → top-2; t3 → i3 (0.6) hit.
        Assert.Equal(0.75, Acc("text→image", 1), 1e-9);
        Assert.Equal(1.0, Acc("text→image", 2), 1e-9);
        Assert.Equal(0.25, r[0].Chance, 1e-9);                     // 1 of 4
        Assert.Equal(0.5, r.Single(x => x.K == 2 && x.Direction == "image→text").Chance, 1e-9);   // 1 − (3/4)(2/3)

        // Images 2 and 3 share a caption: i2 → t3 and i3 → t2 are now correct, and t2 → i3 too.
        var g = Retrieval.Evaluate(sim, [0, 1, 2, 2], 1);
        Assert.Equal(0.75, g.Single(x => x.Direction == "image→text").Accuracy, 1e-9);
        Assert.Equal(1.0, g.Single(x => x.Direction == "text→image").Accuracy, 1e-9);
        // Chance: two queries with 1 correct of 4, two with 2 of 4.
        Assert.Equal((0.25 + 0.25 + 0.5 + 0.5) / 4, g[0].Chance, 1e-9);
    }

    [Fact]
    public void Retrieval_rejects_non_square_similarity()
    {
        using var sim = zeros(3, 4);
        Assert.Throws<OlaVlm.Core.ShapeMismatchException>(() => Retrieval.Evaluate(sim));
    }

    [Fact]
    public void Perplexity_is_exp_of_mean_nll()
    {
        // One row of 4 tokens over a vocabulary of 3; position t predicts label t+1; the last label is ignored.
        float[] logits = [1, 2, 0,   0, 0, 3,   2, 1, 1,   5, 5, 5];
        long[] labels = [0, 1, 2, -100];
        using var l = tensor(logits, [1, 4, 3]);
        using var y = tensor(labels, [1, 4]);
        double Nll(float[] row, long target) => -(row[target] - Math.Log(row.Sum(v => Math.Exp(v))));
        double expected = Nll([1, 2, 0], 1) + Nll([0, 0, 3], 2);   // third position predicts an ignored label
        using var total = OlaVlm.Foundation.MiniLlm.SummedNll(l, y);
        Assert.Equal(expected, total.item<float>(), 1e-4);
        Assert.Equal(Math.Exp(expected / 2), Perplexity.FromNll(total.item<float>(), 2), 1e-3);
        Assert.Equal(3.0, Perplexity.FromNll(2 * Math.Log(3), 2), 1e-9);   // uniform over 3 words
    }

    [Fact]
    public void Batches_are_a_deterministic_permutation_per_epoch()
    {
        var epoch = Enumerable.Range(0, 3).SelectMany(s => Batches.At(12, 5, s, 4)).ToList();
        Assert.Equal(Enumerable.Range(0, 12), epoch.Order());
        Assert.Equal(Batches.At(12, 5, 7, 4), Batches.At(12, 5, 7, 4));
    }
}
