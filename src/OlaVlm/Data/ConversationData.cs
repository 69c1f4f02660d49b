using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Data;

/// One batch of conversations: the rendered samples, and for those with an image, their rows in the
/// image bank (in sample order, as LlavaModel expects its pixels) and their image keys (for teacher
/// targets).
public sealed record ConversationBatch(IReadOnlyList<int> Indices, IReadOnlyList<MultimodalSample> Samples,
    IReadOnlyList<int> ImageRows, IReadOnlyList<string> ImageKeys)
{
    /// Per sample: does it carry an image?
    public bool[] HasImage(long imageTokenId) => Samples.Select(s => s.InputIds.Contains(imageTokenId)).ToArray();
}

/// A LLaVA-format dataset rendered through a chat template into supervised samples, with its images in
/// an ImageBank. Batches come in a deterministic order derived from (seed, epoch), so a resumed run sees
/// exactly the batches the uninterrupted run would have.
public sealed class ConversationData : IDisposable
{
    public LlavaDataset Source { get; }
    public IReadOnlyList<MultimodalSample> Samples { get; }
    public ImageBank Images { get; }
    readonly long _imageId;

    public int Count => Samples.Count;

    public ConversationData(LlavaDataset source, ITokenizer tok, ChatTemplate template, ImageBank? images = null, int? maxLength = null)
    {
        Source = source;
        _imageId = tok.ImageId;
        Images = images ?? ImageBank.Load(source);
        var samples = new List<MultimodalSample>(source.Records.Count);
        for (int i = 0; i < source.Records.Count; i++)
        {
            var r = source.Records[i];
            var turns = r.Conversations.Select(t => new ChatTurn(t.From == LlavaRecord.Human ? ChatRole.User : ChatRole.Assistant, t.Value)).ToList();
            RenderedChat chat;
            try { chat = template.Render(tok, turns); }
            catch (ArgumentException e) { throw new FormatException($"{source.File}: record {i} (id {r.Id}): {e.Message}", e); }
            if (maxLength is int max && chat.Ids.Length > max)
                throw new FormatException($"{source.File}: record {i} (id {r.Id}) renders to {chat.Ids.Length} tokens, over the limit of {max}");
            samples.Add(new MultimodalSample(chat.Ids, chat.Labels));
        }
        Samples = samples;
    }

    /// Sample order of one epoch: a seeded permutation, the same in every process (HashCode.Combine
    /// would not do: .NET salts it per process, and a resumed run must replay the same batches).
    public int[] Order(long seed, int epoch)
    {
        var rng = new Random((int)(World.Rng.Derive((ulong)seed, epoch, 0x5eed) & 0x7fffffff));
        var order = Enumerable.Range(0, Count).ToArray();
        rng.Shuffle(order);
        return order;
    }

    /// The batch a training step sees: step → (epoch, offset) over seeded epoch permutations.
    public ConversationBatch BatchAt(long seed, int step, int batchSize)
    {
        if (batchSize <= 0 || batchSize > Count) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size {batchSize} for a dataset of {Count}");
        int perEpoch = Count / batchSize;
        int epoch = step / perEpoch, offset = step % perEpoch * batchSize;
        var order = Order(seed, epoch);
        return Batch(order.Skip(offset).Take(batchSize).ToList());
    }

    public ConversationBatch Batch(IReadOnlyList<int> indices)
    {
        var samples = indices.Select(i => Samples[i]).ToList();
        var rows = new List<int>(); var keys = new List<string>();
        foreach (var i in indices)
        {
            var r = Source.Records[i];
            if (!r.HasImage) continue;
            rows.Add(Images.Row(r.Image!));
            keys.Add(r.Image!);
        }
        return new ConversationBatch(indices, samples, rows, keys);
    }

    /// Normalised pixels of the batch's images (null for an all-text batch).
    public Tensor? Pixels(ConversationBatch b, Device device) => b.ImageRows.Count == 0 ? null : Images.Pixels(b.ImageRows, device);

    public void Dispose() => Images.Dispose();
}
