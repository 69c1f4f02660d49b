using OlaVlm.Ola;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Ola;

public class QueryTilingTests
{
    // Two latents a = [1, 2], b = [3, 6] (D = 2).
    static Tensor AB() => tensor(new float[] { 1, 2, 3, 6 }).view(2, 2);

    static float[] Rows(Tensor t) => t.contiguous().data<float>().ToArray();

    [Fact]
    public void QDivisibleTilesAlongTheQueryAxisNotInterleaved()
    {
        // Q = 4, n = 2: [a b a b] (torch repeat), not [a a b b] (repeat_interleave).
        Assert.Equal(new float[] { 1, 2, 3, 6, 1, 2, 3, 6 }, Rows(QueryTiling.Fit(AB(), 4)));
        // Batched [B, n, D]: each sample tiled on its own.
        var batched = stack([AB(), AB() * 10], 0);
        var y = QueryTiling.Fit(batched, 4);
        Assert.Equal(new long[] { 2, 4, 2 }, y.shape);
        Assert.Equal(new float[] { 10, 20, 30, 60, 10, 20, 30, 60 }, Rows(y[1]));
    }

    [Fact]
    public void QOneTakesTheMean()
    {
        // Q = 1 (the gen predictor reading its N ⟨gen⟩ states): mean of a and b = [2, 4].
        var y = QueryTiling.Fit(AB(), 1);
        Assert.Equal(new long[] { 1, 2 }, y.shape);
        Assert.Equal(new float[] { 2, 4 }, Rows(y));
        // Three latents, batched.
        var three = tensor(new float[] { 0, 3, 3, 0, 6, 6 }).view(1, 3, 2);
        Assert.Equal(new float[] { 3, 3 }, Rows(QueryTiling.Fit(three, 1)));
    }

    [Fact]
    public void QNotDivisibleRepeatsTheMean()
    {
        // Q = 3, n = 2: 3 % 2 ≠ 0 → the mean [2, 4] three times.
        Assert.Equal(new float[] { 2, 4, 2, 4, 2, 4 }, Rows(QueryTiling.Fit(AB(), 3)));
        // More latents than queries and Q not a multiple of n: also the mean (Q = 2, n = 4).
        var four = cat([AB(), AB()], 0);
        Assert.Equal(new float[] { 2, 4, 2, 4 }, Rows(QueryTiling.Fit(four, 2)));
    }

    [Fact]
    public void ExactCountIsUntouchedAndBadInputIsRefused()
    {
        var ab = AB();
        Assert.Same(ab, QueryTiling.Fit(ab, 2));
        Assert.ThrowsAny<ArgumentException>(() => QueryTiling.Fit(ab, 0));
        var e = Assert.ThrowsAny<ArgumentException>(() => QueryTiling.Fit(zeros(2, 0, 4), 3));
        Assert.Contains("[2, 0, 4]", e.Message);
    }

    [Fact]
    public void ThePredictorAppliesTheRule()
    {
        manual_seed(4);
        using var fixedQ = new EmbeddingPredictor(hidden: 6, innerDim: 8, targetDim: 5, heads: 2, dimHead: 4, device: CPU, numQueries: 4);
        using var free = new EmbeddingPredictor(hidden: 6, innerDim: 8, targetDim: 5, heads: 2, dimHead: 4, device: CPU);
        free.load_state_dict(fixedQ.state_dict());
        var h = randn(2, 5, 6); var lat = randn(2, 2, 6);
        using var _ = no_grad();
        var tiled = fixedQ.forward(h, null, lat);
        Assert.Equal(new long[] { 2, 4, 5 }, tiled.shape);
        Assert.True(tiled.allclose(free.forward(h, null, cat([lat, lat], 1)), rtol: 0, atol: 1e-6));
        Assert.True(fixedQ.forward(h, null, randn(2, 3, 6)).shape.SequenceEqual(new long[] { 2, 4, 5 }));
    }

    // The reference TaskTokenResampler(dim=8, depth=1, dim_head=4, num_queries=4, heads=2, embedding_dim=6,
    // output_dim=5, ff_mult=1) given 2 latents: state-dict tensors in ordinal name order p are
    // 0.5·sin(0.7·j + 0.3·p); x = 1.5·cos(0.37·j) [1, 4, 6]; latents = 1.5·cos(0.91·j) [1, 2, 6].
    // Expected = resampler.py's own output (PyTorch 1.13): rows 0 and 2, 1 and 3 are equal (tiled).
    static readonly float[] ReferenceTiledOutput =
    [
        -0.470843f, -0.449563f, -0.055956f, -0.11383f, -0.09172f, -0.473107f, -0.495876f, -0.098461f, -0.107988f, -0.102138f,
        -0.470843f, -0.449563f, -0.055956f, -0.11383f, -0.09172f, -0.473107f, -0.495876f, -0.098461f, -0.107988f, -0.102138f,
    ];

    [Fact]
    public void MatchesTheReferenceTaskTokenResamplerWhenTiling()
    {
        using var p = new EmbeddingPredictor(hidden: 6, innerDim: 8, targetDim: 5, heads: 2, dimHead: 4, device: CPU, numQueries: 4);
        var names = p.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        using (no_grad())
            for (int i = 0; i < names.Count; i++)
            {
                var t = p.state_dict()[names[i]];
                t.copy_(arange(t.numel(), dtype: ScalarType.Float64).mul(0.7).add(0.3 * i).sin().mul(0.5).to_type(ScalarType.Float32).view(t.shape));
            }
        var x = arange(24, dtype: ScalarType.Float64).mul(0.37).cos().mul(1.5).to_type(ScalarType.Float32).view(1, 4, 6);
        var lat = arange(12, dtype: ScalarType.Float64).mul(0.91).cos().mul(1.5).to_type(ScalarType.Float32).view(1, 2, 6);
        using var _ = no_grad();
        var got = p.forward(x, null, lat).flatten().data<float>().ToArray();
        Assert.Equal(20, got.Length);
        for (int i = 0; i < got.Length; i++) Assert.Equal(ReferenceTiledOutput[i], got[i], 1e-5);   // expected printed to 6 decimals
    }
}
