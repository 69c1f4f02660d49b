namespace OlaVlm.Diagnostics;

/// What a full-size teacher's forward costs on the paper's accelerators, from its FLOPs (multiply-add = 2 FLOPs):
/// time = FLOPs / (peak · MFU). Per OLA-VLM pre-training step each GPU sees 32 images (pretrain.sh:
/// per_device_train_batch_size 32, global batch 256 on 8 GPUs); the student's step for comparison is the frozen
/// Llama-3-8B's forward + activation backward ≈ 4 · 8.03e9 FLOPs per token (no weight-gradient matmuls), ~738
/// tokens per sample (38 text + 576 image + 24 task + ~100 answer).
public static class GpuProjection
{
    public const int ImagesPerGpuStep = 32;
    public const double A100Bf16 = 312e12, H100Bf16 = 989e12;
    public const double LlmFlopsPerSample = 4 * 8.03e9 * (38 + 576 + 24 + 100);

    /// One image through a ViT: patch embedding 2·N·(3·P²)·D, and per block 24·N·D² (qkv 6ND², attention output 2ND²,
    /// MLP 16ND² for a 4·D hidden layer) + 4·N²·D (q·kᵀ and weights·v); N tokens including the class token. Norms,
    /// softmax, GELU and biases are left out (< 1%).
    public static double VitFlops(int tokens, int dim, int layers, int patch, int mlpRatio = 4) =>
        2.0 * (tokens - 1) * 3 * patch * patch * dim
        + layers * ((8.0 + 4 * mlpRatio) * tokens * (double)dim * dim + 4.0 * tokens * tokens * dim);

    public static double Seconds(double flops, double peakFlops, double mfu) => flops / (peakFlops * mfu);

    /// The projection lines for one teacher: FLOPs per image, per GPU per PT step, A100 / H100 time at 100% and 50%
    /// of bf16 peak, and the share of the student's step.
    public static void Report(double flopsPerImage, TextWriter log)
    {
        double step = flopsPerImage * ImagesPerGpuStep;
        log.WriteLine($"  {flopsPerImage / 1e9:F1} GFLOP/image; per PT step per GPU ({ImagesPerGpuStep} images) {step / 1e12:F1} TFLOP → " +
                      string.Join(", ", new[] { ("A100", A100Bf16), ("H100", H100Bf16) }.Select(g =>
                          $"{g.Item1} {Seconds(step, g.Item2, 1.0) * 1e3:F0} ms (100% of bf16 peak) / {Seconds(step, g.Item2, 0.5) * 1e3:F0} ms (50%)")) +
                      $"; {flopsPerImage / LlmFlopsPerSample:P1} of the frozen Llama-3-8B's PT FLOPs per sample");
    }
}
