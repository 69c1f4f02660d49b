using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Throughput figures (printed, never asserted).
public static class ModelBenchmarks
{
    /// Samples/s of a pre-training (PT) step where only the projector learns: a frozen 4-layer d=256 decoder,
    /// sequences of T tokens (half image features, half text), batch B, AdamW on the projector.
    /// Runs in fp32, then with bf16 LLM weights when the device supports them. Returns (dtype, samples/s) rows.
    public static List<(string DType, double SamplesPerSecond)> PtStepThroughput(int steps = 5, int batch = 16, int seqLen = 128,
        Device? device = null, Action<string>? log = null)
    {
        device ??= Core.Devices.Default;
        log ??= Console.WriteLine;
        var results = new List<(string, double)>();
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            try { results.Add((dtype.ToString(), Run(dtype, steps, batch, seqLen, device))); }
            catch (Exception e) { log($"PtStepThroughput {dtype}: not supported here ({e.GetType().Name}: {e.Message.Split('\n')[0]})"); continue; }
            log($"PtStepThroughput {dtype} on {device}: {results[^1].Item2:F1} samples/s (B={batch}, T={seqLen}, 4 layers, d=256)");
        }
        return results;
    }

    static double Run(ScalarType dtype, int steps, int batch, int seqLen, Device device)
    {
        manual_seed(0);
        const int visionWidth = 256, vocab = 1024;
        int imageTokens = seqLen / 2, textTokens = seqLen - imageTokens;
        var config = new LlamaConfig(vocab, 256, 688, 4, 8, 4, TieWordEmbeddings: true, MaxPositionEmbeddings: 4096);
        using var lm = new LlamaForCausalLM(config, device, dtype);
        foreach (var p in lm.parameters()) p.requires_grad = false;
        using var projector = new Projector(visionWidth, config.HiddenSize);
        projector.to(device);
        using var opt = optim.AdamW(projector.parameters(), lr: 1e-3);
        var gen = new Random(0);
        var samples = Enumerable.Range(0, batch).Select(_ =>
        {
            var ids = new[] { 1L, 4L }.Concat(Enumerable.Range(0, textTokens - 1).Select(_ => (long)gen.Next(5, vocab))).ToArray();
            return new MultimodalSample(ids, ids.Select((t, i) => i < 2 ? Labels.Ignore : t).ToArray());
        }).ToList();
        using var feats = randn(batch, imageTokens - 1, visionWidth, device: device);

        void Step()
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var projected = projector.forward(feats).to(dtype);
            using var mb = MultimodalCollator.Assemble(lm, samples, projected, 4);
            using var output = lm.forward(inputsEmbeds: mb.InputsEmbeds, attentionMask: mb.AttentionMask, positionIds: mb.PositionIds);
            var loss = LlamaForCausalLM.CausalLmLoss(output.Logits, mb.Labels);
            loss.backward();
            opt.step();
            _ = loss.item<float>();   // synchronises the device so the clock measures finished work
        }
        Step(); Step();   // warm-up
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) Step();
        return steps * batch / sw.Elapsed.TotalSeconds;
    }
}
