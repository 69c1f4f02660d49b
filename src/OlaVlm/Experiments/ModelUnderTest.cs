using System.Security.Cryptography;
using OlaVlm.Core;
using OlaVlm.Model;
using OlaVlm.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Experiments;

/// Every LLM layer's hidden states for one batch of prompts. Layers[i] is layer i+1 (1-based, as the
/// paper numbers layers): [B, T, hidden] on the CPU. Mask [B, T] bool (true = real token) or null when
/// no row is padded. Input: what enters layer 1 (projected image tokens, task tokens, prompt embeddings),
/// "layer 0", or null when the source does not give it.
public sealed record LayerStates(IReadOnlyList<Tensor> Layers, Tensor? Mask, Tensor? Input = null) : IDisposable
{
    public void Dispose() { foreach (var t in Layers) t.Dispose(); Mask?.Dispose(); Input?.Dispose(); }
}

/// What probing needs from a frozen MLLM: the hidden states of every layer for images under one prompt.
/// An interface so tests can use a stand-in whose layers contain a known signal.
public interface IHiddenStateSource
{
    /// Shown in tables ("baseline seed 0").
    string Name { get; }
    /// Content hash of the weights (and task tokens): keys cached probe results.
    string Hash { get; }
    int NumLayers { get; }
    /// Square image side the model expects.
    int ImageSize { get; }
    /// pixels [B, 3, S, S] (normalised), one `prompt` (with an "<image>" placeholder) per image.
    LayerStates HiddenStates(Tensor pixels, string prompt);
}

/// What benchmark evaluation needs: a reply per prompt. Prompts with an "<image>" placeholder come with
/// one pixel row each, in order; text-only ("blind") prompts with none.
public interface IBenchAnswerer
{
    string Name { get; }
    /// Content hash of everything that decides the replies: keys cached benchmark replies.
    string Hash { get; }
    int ImageSize { get; }
    IReadOnlyList<string> Answer(IReadOnlyList<string> prompts, Tensor? pixels);
}

/// A trained LlavaModel (baseline) or OLA-VLM's LlavaModel plus its task tokens, with the tokenizer and
/// chat template it was trained with. Task tokens [numTaskTokens, hidden] go right after the image
/// tokens at inference too, as the reference OLA-VLM does; null for the baseline.
public sealed class MllmUnderTest : IHiddenStateSource, IBenchAnswerer
{
    public LlavaModel Model { get; }
    public ITokenizer Tokenizer { get; }
    public ChatTemplate Template { get; }
    public Tensor? TaskTokens { get; }
    public string Name { get; }
    public int MaxNewTokens { get; init; } = 8;
    string? _hash;

    public MllmUnderTest(LlavaModel model, ITokenizer tokenizer, ChatTemplate template, Tensor? taskTokens = null,
                         string name = "model", string? hash = null)
    {
        if (taskTokens is not null && (taskTokens.dim() != 2 || taskTokens.shape[1] != model.Config.Text.HiddenSize))
            throw new ShapeMismatchException($"MllmUnderTest '{name}': task tokens {Checked.Fmt(taskTokens.shape)} must be [numTaskTokens, {model.Config.Text.HiddenSize}]");
        Model = model; Tokenizer = tokenizer; Template = template; TaskTokens = taskTokens; Name = name; _hash = hash;
    }

    public int NumLayers => Model.Config.Text.NumLayers;
    public int ImageSize => Model.Config.Vision.ImageSize;
    Device Device => Model.parameters().First().device;

    /// SHA-256 of every weight (name, shape, dtype, bytes) and the task tokens; computed once.
    public string Hash => _hash ??= WeightsHash(Model, TaskTokens);

    /// The prompt ids: the template with one user turn and the assistant header (generation prompt).
    public long[] PromptIds(string userText) =>
        Template.Render(Tokenizer, [new ChatTurn(ChatRole.User, userText)], addGenerationPrompt: true).Ids;

    public LayerStates HiddenStates(Tensor pixels, string prompt)
    {
        Model.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = PromptIds(prompt);
        var samples = Enumerable.Range(0, (int)pixels.shape[0]).Select(_ => MultimodalSample.Prompt(ids)).ToList();
        using var fw = Model.forward(pixels.to(Device), samples, TaskTokens?.to(Device), outputHiddenStates: true);
        var hs = fw.Output.HiddenStates!;
        // HiddenStates[0] = embeddings, [i] = layer i (the last one after the final norm, as HF).
        var layers = Enumerable.Range(1, NumLayers).Select(i => hs[i].to(float32).cpu().MoveToOuterDisposeScope()).ToList();
        var mask = fw.Batch.AttentionMask.eq(1);
        bool padded = !mask.all().item<bool>();
        return new LayerStates(layers, padded ? mask.cpu().MoveToOuterDisposeScope() : null, hs[0].to(float32).cpu().MoveToOuterDisposeScope());
    }

    public IReadOnlyList<string> Answer(IReadOnlyList<string> prompts, Tensor? pixels)
    {
        Model.eval();
        var ids = prompts.Select(PromptIds).ToList();
        var opts = new GenerationOptions(MaxNewTokens, StopTokenId: Template.StopId(Tokenizer), PadTokenId: Tokenizer.PadId);
        var outs = Model.Generate(ids, pixels?.to(Device), opts, TaskTokens?.to(Device));
        return outs.Select(o => Tokenizer.Decode(o)).ToList();
    }

    public static string WeightsHash(nn.Module module, Tensor? extra = null)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string name, Tensor t)
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{name}:{Checked.Fmt(t.shape)}:{t.dtype};"));
            using var c = t.detach().cpu().contiguous();
            sha.AppendData(c.bytes);
        }
        foreach (var (name, t) in module.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal)) Add(name, t);
        if (extra is not null) Add("task_tokens", extra);
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }
}
