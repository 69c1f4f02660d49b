using System.Diagnostics;
using OlaVlm.Eval;
using OlaVlm.Ola;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Perf;

/// Prints figures (no timed asserts): miniature OlaHeads forward+backward and a probe fit.
/// OLA_BENCH_THREADS=1 sets libtorch intra-op threads (on a shared 2-core box 1 thread is far faster);
/// OLA_BENCH_EPOCHS sets the probe epochs (default 40).
[Trait("Category", "Perf")]
public class OlaPerfTests(ITestOutputHelper output)
{
    [Fact]
    public void MiniatureHeadsStepAndProbeFit()
    {
        const int hidden = 128, layers = 8, b = 8, sys = 13, img = 16, text = 32;
        var cfg = OlaConfig.Miniature;
        using var heads = new OlaHeads(cfg, hidden, layers, CPU);
        int t = sys + img + heads.TaskTokens.BlockLength + text;
        var states = Enumerable.Range(0, layers).Select(_ => randn(b, t, hidden)).ToList();
        var layout = new OlaBatchLayout(ones(b, t, dtype: ScalarType.Bool), Enumerable.Repeat((long)sys, b).ToArray(),
                                        Enumerable.Repeat((long)(sys + img), b).ToArray());
        var targets = cfg.Tasks.ToDictionary(k => k, k => randn(b, cfg.Spec(k).NumTargetTokens, cfg.Spec(k).TargetDim));
        long nParams = heads.parameters().Sum(p => p.numel());
        for (int i = 0; i < 2; i++) Step();
        var eb = Environment.GetEnvironmentVariable("OLA_BENCH_THREADS");
        if (eb is not null) set_num_threads(int.Parse(eb));
        var sw = Stopwatch.StartNew();
        const int iters = 10;
        for (int i = 0; i < iters; i++) Step();
        double step = sw.Elapsed.TotalMilliseconds / iters;
        sw.Restart();
        for (int i = 0; i < iters; i++) TaskMasks.Build(layout, cfg);
        double masks = sw.Elapsed.TotalMilliseconds / iters;
        double fwd;
        using (no_grad())
        {
            var f = Stopwatch.StartNew();
            for (int i = 0; i < iters; i++) { using var sc = NewDisposeScope(); heads.Forward(states, layout, targets); }
            fwd = f.Elapsed.TotalMilliseconds / iters;
        }
        output.WriteLine($"  of which: masks {masks:F2} ms, no-grad forward {fwd:F1} ms");
        output.WriteLine($"OlaHeads miniature (hidden {hidden}, {layers} layers, B={b}, T={t}, {nParams:N0} params): " +
                         $"{step:F1} ms per forward+backward, {get_num_threads()} threads");

        manual_seed(0);
        int n = 256;
        var tg = randn(n, 16, 32); tg = tg - tg.mean([-1], keepdim: true);
        // Target tokens seen through a random linear map, with a fixed positional code so each query can
        // find its token, followed by 40 unrelated tokens.
        var pos = randn(1, 16, hidden);
        var hs = cat([einsum("nqc,ch->nqh", tg, randn(32, hidden) / 6) + pos, randn(n, 40, hidden)], 1);
        sw.Restart();
        var fit = ProbeTrainer.Fit(hs[..192], tg[..192], new ProbeOptions { Epochs = int.Parse(Environment.GetEnvironmentVariable("OLA_BENCH_EPOCHS") ?? "40"), LearningRate = 3e-3, Seed = 1 }, device: CPU);
        output.WriteLine($"Probe fit 192×56 tokens → 16×32, {fit.EpochLosses.Count} epochs: {sw.Elapsed.TotalSeconds:F2} s, " +
                         $"loss {fit.EpochLosses[0]:F3} → {fit.EpochLosses[^1]:F3}, held-out cosine {ProbeTrainer.Evaluate(fit, hs[192..], tg[192..]):F3}");

        void Step()
        {
            using var scope = NewDisposeScope();
            heads.zero_grad();
            heads.Forward(states, layout, targets).Loss.backward();
        }
    }
}
