using OlaVlm.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Model;

public class LlamaTests
{
    /// bf16 attention on the CPU is computed in fp32 (Attention.ScaledDotProduct: the bf16 kernel's backward is
    /// several times slower), returned in bf16, and gradients reach bf16 inputs.
    [Fact]
    public void Bf16AttentionIsComputedInFp32OnTheCpu()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(4);
        var (q, k, v) = (randn([2, 4, 7, 8], generator: g).to(ScalarType.BFloat16), randn([2, 4, 7, 8], generator: g).to(ScalarType.BFloat16),
                         randn([2, 4, 7, 8], generator: g).to(ScalarType.BFloat16));
        var mask = CausalMask.Build(ones(2, 7, dtype: ScalarType.Int64), 7, ScalarType.BFloat16);
        var y = Attention.ScaledDotProduct(q.requires_grad_(), k, v, mask);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        var f = ScalarType.Float32;
        var expected = nn.functional.scaled_dot_product_attention(q.detach().to(f), k.to(f), v.to(f), attn_mask: mask.to(f)).to(ScalarType.BFloat16);
        Assert.True(y.detach().eq(expected).all().item<bool>());
        y.sum().backward();
        Assert.Equal(ScalarType.BFloat16, q.grad!.dtype);
    }

    [Fact]
    public void FutureTokensDoNotChangePastLogits()
    {
        using var scope = NewDisposeScope();
        var lm = Tiny.Lm();
        var a = Tiny.Ids(1, 1, 12);
        var b = a.clone();
        b[0, TensorIndex.Slice(8, null)] = Tiny.Ids(2, 4);   // different future
        using var _ = no_grad();
        var la = lm.forward(a).Logits; var lb = lm.forward(b).Logits;
        Assert.True(Tiny.MaxDiff(la[.., ..8], lb[.., ..8]) < 1e-6);
        Assert.True(Tiny.MaxDiff(la[.., 8..], lb[.., 8..]) > 1e-4, "changed tokens must change their own logits");
    }

    [Fact]
    public void KvCacheDecodingEqualsFullForward()
    {
        using var scope = NewDisposeScope();
        var lm = Tiny.Lm();
        var ids = Tiny.Ids(3, 2, 10);
        using var _ = no_grad();
        var full = lm.forward(ids).Logits;
        using var cache = lm.NewCache();
        var parts = new List<Tensor> { lm.forward(ids[.., ..6], cache: cache).Logits };
        for (int t = 6; t < 10; t++) parts.Add(lm.forward(ids[.., t..(t + 1)], cache: cache).Logits);
        Assert.Equal(10, cache.Length);
        Assert.True(Tiny.MaxDiff(full, cat(parts, 1)) <= 1e-5);
    }

    [Fact]
    public void MultiHeadAttentionMatchesHandWrittenReference()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var c = Tiny.Llama(kvHeads: 4);
        var attn = new LlamaAttention(c);
        var p = attn.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        long B = 2, T = 5, H = 4, D = 8;
        var x = randn(B, T, 32);
        var pos = arange(T).unsqueeze(0).expand(B, T);
        var (cos, sin) = RotaryEmbedding.Tables(pos, (int)D, c.RopeTheta, ScalarType.Float32);
        var mask = CausalMask.Build(ones(B, T, dtype: ScalarType.Int64), T, ScalarType.Float32);
        using var _ = no_grad();
        var got = attn.forward(x, cos, sin, mask);

        // Reference: per-head softmax(q·k/√d + causal) v, written out with einsum.
        Tensor Heads(Tensor w) => einsum("btc,oc->bto", x, w).view(B, T, H, D).transpose(1, 2);
        var q = RotaryEmbedding.Apply(Heads(p["q_proj.weight"]), cos, sin);
        var k = RotaryEmbedding.Apply(Heads(p["k_proj.weight"]), cos, sin);
        var v = Heads(p["v_proj.weight"]);
        var scores = einsum("bhid,bhjd->bhij", q, k) / Math.Sqrt(D);
        scores = scores.masked_fill(ones(T, T).triu(1).to(ScalarType.Bool), double.NegativeInfinity);
        var y = einsum("bhij,bhjd->bhid", scores.softmax(-1), v).transpose(1, 2).reshape(B, T, H * D);
        var want = einsum("btc,oc->bto", y, p["o_proj.weight"]);
        Assert.True(Tiny.MaxDiff(got, want) < 1e-5);
    }

    [Fact]
    public void GroupedQueryAttentionEqualsMhaWithRepeatedKvWeights()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var gqa = new LlamaAttention(Tiny.Llama(kvHeads: 2));
        var mha = new LlamaAttention(Tiny.Llama(kvHeads: 4));
        var g = gqa.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        var m = mha.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        using (no_grad())
        {
            m["q_proj.weight"].copy_(g["q_proj.weight"]); m["o_proj.weight"].copy_(g["o_proj.weight"]);
            // kv head j serves query heads 2j and 2j+1: repeat each 8-row head block twice.
            foreach (var n in new[] { "k_proj.weight", "v_proj.weight" })
                m[n].copy_(g[n].view(2, 1, 8, 32).expand(2, 2, 8, 32).reshape(32, 32));
        }
        var x = randn(1, 6, 32);
        var (cos, sin) = RotaryEmbedding.Tables(arange(6).unsqueeze(0), 8, 10000, ScalarType.Float32);
        var mask = CausalMask.Build(ones(1, 6), 6, ScalarType.Float32);
        using var _ = no_grad();
        Assert.True(Tiny.MaxDiff(gqa.forward(x, cos, sin, mask), mha.forward(x, cos, sin, mask)) < 1e-5);
    }

    [Fact]
    public void RopeMakesScoresDependOnlyOnRelativePosition()
    {
        using var scope = NewDisposeScope();
        // A fixed generator: with free draws Score(3, 1) and Score(3, 2) could land close by chance.
        var g = new Generator(7);
        var q = randn(1, 1, 1, 16, generator: g); var k = randn(1, 1, 1, 16, generator: g);
        double Score(long m, long n)
        {
            var (c1, s1) = RotaryEmbedding.Tables(tensor(new[] { m }).view(1, 1), 16, 10000, ScalarType.Float64);
            var (c2, s2) = RotaryEmbedding.Tables(tensor(new[] { n }).view(1, 1), 16, 10000, ScalarType.Float64);
            var qr = RotaryEmbedding.Apply(q.to(ScalarType.Float64), c1, s1);
            var kr = RotaryEmbedding.Apply(k.to(ScalarType.Float64), c2, s2);
            return (qr * kr).sum().item<double>();
        }
        Assert.Equal(Score(3, 1), Score(103, 101), 1e-4);   // tables are fp32, as HF
        Assert.Equal(Score(7, 7), Score(0, 0), 1e-6);
        Assert.True(Math.Abs(Score(3, 1) - Score(3, 2)) > 1e-3);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PaddingDoesNotChangeResults(bool left)
    {
        using var scope = NewDisposeScope();
        var lm = Tiny.Lm();
        var shortIds = Tiny.Ids(6, 1, 5); var longIds = Tiny.Ids(7, 1, 8);
        using var _ = no_grad();
        var alone = lm.forward(shortIds).Logits;
        var pad = zeros(1, 3, dtype: ScalarType.Int64);
        var padded = left ? cat([pad, shortIds], 1) : cat([shortIds, pad], 1);
        var ids = cat([padded, longIds], 0);
        var mask = cat([left ? cat([zeros(1, 3), ones(1, 5)], 1) : cat([ones(1, 5), zeros(1, 3)], 1), ones(1, 8)], 0).to(ScalarType.Int64);
        var batched = lm.forward(ids, attentionMask: mask).Logits;
        var rows = left ? batched[0, 3..] : batched[0, ..5];
        Assert.True(Tiny.MaxDiff(alone[0], rows) < 1e-5);
        Assert.True(Tiny.MaxDiff(lm.forward(longIds).Logits[0], batched[1]) < 1e-5);
        Assert.False(batched.isnan().any().item<bool>());
    }

    [Fact]
    public void HiddenStatesFollowHfLayout()
    {
        using var scope = NewDisposeScope();
        var lm = Tiny.Lm(tied: false);
        var ids = Tiny.Ids(8, 2, 4);
        using var _ = no_grad();
        var o = lm.forward(ids, outputHiddenStates: true);
        Assert.Equal(3, o.HiddenStates!.Count);              // embeddings + 2 layers (last one normed)
        Assert.True(Tiny.MaxDiff(o.HiddenStates[0], lm.Embed(ids)) == 0);
        Assert.True(Tiny.MaxDiff(o.HiddenStates[^1], o.LastHiddenState) == 0);
        Assert.True(Tiny.MaxDiff(lm.Head(o.LastHiddenState), o.Logits) < 1e-6);
    }

    [Fact]
    public void EmbedsAndIdsGiveTheSameLogits()
    {
        using var scope = NewDisposeScope();
        var lm = Tiny.Lm();
        var ids = Tiny.Ids(9, 1, 6);
        using var _ = no_grad();
        Assert.True(Tiny.MaxDiff(lm.forward(ids).Logits, lm.forward(inputsEmbeds: lm.Embed(ids)).Logits) == 0);
        Assert.Throws<ArgumentException>(() => lm.forward());
    }
}
