using OlaVlm.Text;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Foundation;

/// World text for language-model pre-training: every conversation rendered through the chat template
/// (all turns, user and assistant alike; the "<image>" placeholder removed: the LLM is pre-trained on
/// text only) and packed end to end into one token stream, nanoGPT style, so no window is padding.
public sealed class TextCorpus
{
    public long[] Tokens { get; }
    public int Documents { get; }

    public TextCorpus(long[] tokens, int documents)
    {
        Tokens = tokens; Documents = documents;
    }

    public static TextCorpus FromDatasets(IEnumerable<LlavaDataset> datasets, ITokenizer tok, ChatTemplate template)
    {
        var stream = new List<long>(); int docs = 0;
        foreach (var d in datasets)
            for (int i = 0; i < d.Records.Count; i++)
            {
                var r = d.Records[i];
                var turns = r.Conversations.Select(t => new ChatTurn(t.From == LlavaRecord.Human ? ChatRole.User : ChatRole.Assistant,
                    t.Value.Replace(LlavaRecord.ImageToken, "").Trim())).ToList();
                try { stream.AddRange(template.Render(tok, turns).Ids); }
                catch (ArgumentException e) { throw new FormatException($"{d.File}: record {i} (id {r.Id}): {e.Message}", e); }
                docs++;
            }
        return new TextCorpus(stream.ToArray(), docs);
    }

    /// Training windows of `length` tokens at seeded random offsets (a function of (seed, step)).
    public Tensor RandomWindows(long seed, int step, int batch, int length, Device device)
    {
        if (Tokens.Length <= length) throw new InvalidOperationException($"TextCorpus: {Tokens.Length} tokens, too few for windows of {length}");
        var rng = new Random((int)(Training.TrainConfig.StepSeed(seed, step) & 0x7fffffff));
        var ids = new long[batch * length];
        for (int b = 0; b < batch; b++)
            Array.Copy(Tokens, rng.Next(Tokens.Length - length + 1), ids, b * length, length);
        return tensor(ids, [batch, length], device: device);
    }

    /// Consecutive non-overlapping windows (the last partial one dropped), at most `max`.
    public int WindowCount(int length, int? max = null) => Math.Min(Tokens.Length / length, max ?? int.MaxValue);

    public Tensor Windows(int start, int count, int length, Device device)
    {
        var ids = new long[count * length];
        Array.Copy(Tokens, (long)start * length, ids, 0, (long)count * length);
        return tensor(ids, [count, length], device: device);
    }
}
