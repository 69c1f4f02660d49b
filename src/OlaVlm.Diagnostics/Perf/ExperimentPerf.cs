using System.Diagnostics;
using OlaVlm.Eval;
using OlaVlm.Model;
using OlaVlm.Text;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// What the measurement side costs on a miniature-size model (CLIP 64² / patch 8 → 64 image tokens, LLM
/// hidden 128, 4 layers). Figures are printed, never asserted.
public static class ExperimentPerf
{
    public sealed record Figures(double ExtractImagesPerSecond, double ProbeFitSecondsPerLayer, double ProbeTrainSamplesPerSecond,
                                 double BenchAnswersPerSecond, long TokensPerLayer);

    public static Figures MeasurementCost(int images = 64, int probeEpochs = 5, int answers = 32, Device? device = null, Action<string>? log = null)
    {
        device ??= Core.Devices.Default;
        log ??= Console.WriteLine;
        var template = ChatTemplate.Miniature();
        var tok = WordTokenizer.Build([template.System, template.UserPrefix, template.AssistantPrefix, "describe the image . how many cubes are there ? ( a ) ( b )"]);
        manual_seed(0);
        var cfg = new LlavaConfig(ClipVisionConfig.Miniature(), LlamaConfig.Miniature(tok.VocabSize) with { NumLayers = 4 }, tok.ImageId);
        using var llava = new LlavaModel(cfg, device);
        var model = new MllmUnderTest(llava, tok, template, randn(24, cfg.Text.HiddenSize, device: device), "bench") { MaxNewTokens = 6 };
        using var pixels = randn(images, 3, cfg.Vision.ImageSize, cfg.Vision.ImageSize);

        var sw = Stopwatch.StartNew();
        var layers = new List<Tensor>();
        for (int s = 0; s < images; s += 16)
        {
            using var st = model.HiddenStates(pixels.narrow(0, s, Math.Min(16, images - s)), "<image>\nDescribe the image.");
            layers.Add(st.Layers[^1].clone());
        }
        double extract = images / sw.Elapsed.TotalSeconds;
        using var hidden = cat(layers, 0);
        foreach (var l in layers) l.Dispose();

        sw.Restart();
        using var targets = randn(images, 16, 32);
        var fit = ProbeTrainer.Fit(hidden, targets, new ProbeOptions { Epochs = probeEpochs }, device: device);
        double fitSeconds = sw.Elapsed.TotalSeconds;
        fit.Probe.Dispose();

        sw.Restart();
        var prompts = Enumerable.Range(0, answers).Select(_ => "<image>\nhow many cubes are there ? (a) 1 (b) 2").ToList();
        using (var px = pixels.narrow(0, 0, answers)) model.Answer(prompts, px);
        double answerRate = answers / sw.Elapsed.TotalSeconds;

        var f = new Figures(extract, fitSeconds, images * probeEpochs / fitSeconds, answerRate, hidden.shape[1]);
        log($"hidden-state extraction: {f.ExtractImagesPerSecond:F1} images/s (4 layers, {f.TokensPerLayer} tokens/layer, d={cfg.Text.HiddenSize}) on {device}");
        log($"probe fit: {f.ProbeFitSecondsPerLayer:F2} s per layer per teacher ({images} images × {probeEpochs} epochs = {f.ProbeTrainSamplesPerSecond:F0} samples/s)");
        log($"greedy benchmark answers: {f.BenchAnswersPerSecond:F1} answers/s (≤6 new tokens, batch {answers})");
        return f;
    }
}
