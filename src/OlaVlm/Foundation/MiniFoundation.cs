using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.Training;
using static TorchSharp.torch;

namespace OlaVlm.Foundation;

/// The two pre-trained models LLaVA-1.5 starts from, in miniature, with their tokenizer and figures.
public sealed record MiniFoundation(ClipModel Clip, LlamaForCausalLM Llm, WordTokenizer Tokenizer, ChatTemplate Template,
    ClipReport ClipReport, LlmReport LlmReport, FoundationConfig Config, string Dir, bool TrainedNow) : IDisposable
{
    public string ClipRunDir => Path.Combine(Dir, "clip", "run");
    public string LlmRunDir => Path.Combine(Dir, "llm", "run");
    public string ReasoningRunDir => Path.Combine(Dir, "llm", "reasoning");
    /// The text oracle's score on the benchmark when the LLM was trained (null without a reasoning phase).
    public OracleReport? Oracle { get; init; }
    public IReadOnlyList<IReadOnlyDictionary<string, double>> ReasoningCurve =>
        Directory.Exists(ReasoningRunDir) ? MetricsLog.Read(ReasoningRunDir) : [];
    /// Training curves (Trainer metrics rows: step, loss, lr_*, grad_norm, …), also when loaded from cache.
    public IReadOnlyList<IReadOnlyDictionary<string, double>> ClipCurve => MetricsLog.Read(ClipRunDir);
    public IReadOnlyList<IReadOnlyDictionary<string, double>> LlmCurve => MetricsLog.Read(LlmRunDir);
    public string ClipWeights => Path.Combine(Dir, "clip", "model.safetensors");
    public string LlmWeights => Path.Combine(Dir, "llm", "model.safetensors");

    /// The vision tower for LLaVA (copy of the CLIP's, select layer −2).
    public ClipVisionModel VisionTower(Device? device = null) => MiniClip.VisionTower(Clip, device);

    public void Dispose() { Clip.Dispose(); Llm.Dispose(); }
}
