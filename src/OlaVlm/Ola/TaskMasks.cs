using OlaVlm.Core;
using static TorchSharp.torch;

namespace OlaVlm.Ola;

/// Where things are in a collated batch, as plain numbers (any collator's segment spans reduce to this).
/// AttentionMask [B, T]: nonzero = real token, 0 = padding (left or right).
/// ImageStart[i]: first image token of sample i, or -1 for a text-only sample.
/// TaskStart[i]: first task token = the position right after the last image token (the task-token block
/// [numTasks · N] starts here; with N = 0 it is empty), or -1 for a text-only sample.
public sealed record OlaBatchLayout(Tensor AttentionMask, long[] ImageStart, long[] TaskStart)
{
    public int BatchSize => ImageStart.Length;
    public bool HasImage(int i) => ImageStart[i] >= 0;
    /// [B] bool on `device`: which samples have an image (and so a teacher target).
    public Tensor HasImageMask(Device device) => tensor(ImageStart.Select(s => s >= 0).ToArray(), device: device);
}

/// Per task: which positions its predictor reads (Media) and where its own task tokens are (Own).
public sealed record TaskMask(Tensor Media, Tensor Own);

/// Builds the predictor masks: a task's predictor reads [system | image | its own task tokens | text] of
/// each sample, never the other tasks' tokens, never padding. (System and text can be switched off by
/// OlaConfig.PassSystemToPredictor / PassTextToPredictor.) A text-only sample reads its real tokens and
/// owns no task tokens; its prediction is computed but its loss is masked out by EmbeddingLoss.
public static class TaskMasks
{
    public static IReadOnlyDictionary<OlaTask, TaskMask> Build(OlaBatchLayout layout, OlaConfig config, Device? device = null)
    {
        var attn = layout.AttentionMask;
        if (attn.dim() != 2 || attn.shape[0] != layout.BatchSize || layout.TaskStart.Length != layout.BatchSize)
            throw new ShapeMismatchException($"OlaBatchLayout: attention mask {Checked.Fmt(attn.shape)}, {layout.ImageStart.Length} image starts and {layout.TaskStart.Length} task starts must agree on the batch size");
        device ??= attn.device;
        int b = layout.BatchSize, t = (int)attn.shape[1], n = config.NumTaskTokens, block = config.Tasks.Count * n;
        var valid = attn.to_type(ScalarType.Bool).cpu().data<bool>().ToArray();
        var result = new Dictionary<OlaTask, TaskMask>();
        for (int k = 0; k < config.Tasks.Count; k++)
        {
            var media = new bool[b * t];
            var own = new bool[b * t];
            for (int i = 0; i < b; i++)
            {
                long img = layout.ImageStart[i], ts = layout.TaskStart[i];
                if ((img < 0) != (ts < 0) || (img >= 0 && (ts < img || ts + block > t)))
                    throw new ArgumentException($"OlaBatchLayout sample {i}: image start {img}, task start {ts} and task block {block} do not fit a sequence of {t}");
                for (int p = 0; p < t; p++)
                {
                    bool read = valid[i * t + p];
                    if (img >= 0)
                    {
                        bool inBlock = p >= ts && p < ts + block;
                        bool mine = p >= ts + k * n && p < ts + (k + 1) * n;
                        own[i * t + p] = mine && read;
                        if (inBlock && !mine) read = false;
                        if (p < img && !config.PassSystemToPredictor) read = false;
                        if (p >= ts + block && !config.PassTextToPredictor) read = false;
                    }
                    else if (!config.PassTextToPredictor) read = false;
                    media[i * t + p] = read;
                }
            }
            result[config.Tasks[k]] = new TaskMask(
                tensor(media, device: device).view(b, t), tensor(own, device: device).view(b, t));
        }
        return result;
    }
}
