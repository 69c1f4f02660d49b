using OlaVlm.Model;
using OlaVlm.Ola;
using OlaVlm.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace OlaVlm.Ola;

/// One forward pass of OlaVlmModel. Ntp: next-token loss; Emb: summed embedding loss (exactly 0 without
/// heads, without targets, or without image samples); Total = Ntp + Emb. Heads: per-(task, layer) parts
/// and predictions, null when the heads did not run. Dispose it when done.
public sealed record OlaForward(LlavaForward Llava, OlaHeadsOutput? Heads, Tensor Ntp, Tensor Emb, Tensor Total) : IDisposable
{
    public void Dispose() { Llava.Dispose(); Emb.Dispose(); Total.Dispose(); }
}

/// OLA-VLM = LLaVA-1.5 + OlaHeads (task tokens, embedding predictors, logit scales).
///
/// Why one class for both arms: the baseline is this model with `heads: null` (or HeadsEnabled = false),
/// so the LLaVA baseline and OLA-VLM run every line of code in common except the heads. With heads, the
/// task tokens ⟨g⟩⟨d⟩⟨s⟩ go right after the image tokens (MultimodalCollator), every decoder layer's
/// hidden state goes to the heads, and the embedding loss joins the next-token loss.
/// Parameter names: `llava.*` (LlavaModel's llava-hf names) and `ola.*` (OlaHeads' reference names).
public sealed class OlaVlmModel : nn.Module
{
    readonly LlavaModel llava;
    readonly OlaHeads? ola;

    public LlavaModel Llava => llava;
    /// Null for the plain LLaVA-1.5 baseline.
    public OlaHeads? Heads => ola;
    public OlaConfig? OlaConfig => ola?.Config;
    /// False: behave exactly as the baseline (no task tokens in the sequence, no embedding loss) while
    /// keeping the head weights. Used by the "same NTP loss with heads disabled" check.
    public bool HeadsEnabled { get; set; } = true;
    /// Whether the heads take part: OLA-VLM with HeadsEnabled (false for the baseline).
    public bool OlaActive => ola is not null && HeadsEnabled;

    public OlaVlmModel(LlavaModel llava, OlaHeads? heads) : base(nameof(OlaVlmModel))
    {
        if (heads is not null && (heads.Hidden != llava.Config.Text.HiddenSize || heads.NumLayers != llava.Config.Text.NumLayers))
            throw new ArgumentException($"OlaVlmModel: heads built for hidden {heads.Hidden} × {heads.NumLayers} layers, " +
                                        $"LLM is hidden {llava.Config.Text.HiddenSize} × {llava.Config.Text.NumLayers} layers");
        this.llava = llava;
        ola = heads;
        RegisterComponents();
    }

    /// A model around `llava` with fresh heads for `config` (null: the baseline), on llava's device.
    public static OlaVlmModel Create(LlavaModel llava, OlaConfig? config)
    {
        var device = llava.LanguageModel.Model.EmbedTokens.weight!.device;
        var heads = config is null ? null : new OlaHeads(config, (int)llava.Config.Text.HiddenSize, llava.Config.Text.NumLayers, device);
        return new OlaVlmModel(llava, heads);
    }

    /// The task-token block inserted after each image ([numTasks·N, hidden]), or null (baseline, N = 0).
    public Tensor? TaskTokenSequence() => OlaActive && ola!.TaskTokens.BlockLength > 0 ? ola.TaskTokens.Sequence() : null;

    /// pixels: one row per sample with an image placeholder (sample order). targets[task]: [B, tokens, dim]
    /// teacher embeddings for ALL B samples (text-only rows: finite; masked per OlaConfig.LossReduction), or null for
    /// no embedding loss. predict: run the heads even without targets (for looking at predictions).
    public OlaForward forward(Tensor? pixels, IReadOnlyList<MultimodalSample> samples,
                              IReadOnlyDictionary<OlaTask, Tensor>? targets = null, bool predict = false)
    {
        bool runHeads = OlaActive && (targets is not null || predict);
        var fw = llava.forward(pixels, samples, TaskTokenSequence(), outputHiddenStates: runHeads);
        OlaHeadsOutput? heads = null;
        Tensor emb;
        if (runHeads)
        {
            heads = ola!.Forward(fw.Output.HiddenStates!, Layout(fw.Batch), targets);
            emb = heads.Loss;
            // A batch with no image sample gives an embedding loss of exactly 0 that hangs off no weight;
            // in PT (LLM frozen, no image → projector unused) the total would then require no grad at all.
            // 0·Σpred ties it to the predictors so a rare all-text batch is a no-op step, not a crash.
            if (!emb.requires_grad && heads.Predictions.Values.FirstOrDefault(p => p.requires_grad) is Tensor anchor)
                emb = emb + 0 * anchor.sum();
        }
        else emb = zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: fw.Loss.device);
        var total = fw.Loss.to_type(ScalarType.Float32) + emb;
        return new OlaForward(fw, heads, fw.Loss, emb, total);
    }

    /// Reduces the collator's segment spans to what OlaHeads needs.
    public static OlaBatchLayout Layout(MultimodalBatch batch) => new(
        batch.AttentionMask,
        batch.Spans.Select(s => s.HasImage ? (long)s.Image.Start : -1).ToArray(),
        batch.Spans.Select(s => s.HasImage ? (long)s.TaskTokens.Start : -1).ToArray());

    /// Greedy/sampled answers; task tokens go after the image exactly as in training.
    public long[][] Generate(IReadOnlyList<long[]> prompts, Tensor? pixels, GenerationOptions options) =>
        llava.Generate(prompts, pixels, options, TaskTokenSequence());

    /// The whole model (LLaVA + heads) as one safetensors file.
    public void Save(string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var tmp = Core.TempFiles.Beside(file);   // renamed when complete: a kill leaves no half file under the name
        using (var scope = NewDisposeScope())
        using (var s = File.Create(tmp))
            Safetensors.SaveStateDict(s, state_dict(), leaveOpen: true);
        File.Move(tmp, file, overwrite: true);
    }

    /// Loads a file written by Save; every key and shape is checked first (all problems in one exception).
    public void Load(string file) => Training.RunCheckpoint.LoadModel(this, file);
}
