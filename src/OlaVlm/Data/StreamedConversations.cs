using OlaVlm.Data.Layouts;
using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace OlaVlm.Data;

/// One micro-batch of StreamedConversations: the records' positions, their rendered samples, the pixels of those
/// with an image (in sample order, as LlavaModel expects them), and those images' keys (for teacher targets).
public sealed record StreamedBatch(IReadOnlyList<int> Indices, IReadOnlyList<MultimodalSample> Samples, Tensor? Pixels,
                                   bool[] HasImage, IReadOnlyList<string> ImageKeys);

/// A released LLaVA dataset read as training reads it at full scale (LLaVA's LazySupervisedDataset): nothing is
/// decoded up front. For record i: the conversation through the chat template (LLaVA's preprocess_multimodal first
/// moves "<image>" to the front of its turn, then the template renders and tokenizes; answers are supervised;
/// longer than ModelMaxLength tokens is cut there, as LLaVA's collator cuts at model_max_length), and its image
/// decoded (ImageLoader's limits) and put through the tower's processor. Text-only records have no image.
/// An image that cannot be read stops with an error naming the JSON file, the record and the image — or, under
/// MalformedRecordPolicy.SkipAndReport, is counted in BadImages and the next record takes its place (the same
/// one every time, so batches stay a function of their indices). Decoded images are kept for the last few batches
/// (Image(key)), so the teachers read the same pixels without decoding again.
public sealed class StreamedConversations : IDisposable
{
    readonly Dictionary<string, Image<Rgb24>> _recent = new();
    readonly Queue<string> _order = new();

    public LlavaRecordIndex Index { get; }
    public ITokenizer Tokenizer { get; }
    public ChatTemplate Template { get; }
    public TowerImageProcessor Processor { get; }
    public MalformedRecordPolicy Policy { get; init; } = MalformedRecordPolicy.Throw;
    /// LLaVA's model_max_length (OLA-VLM's scripts: 4096), counting the image placeholder as one token.
    public int ModelMaxLength { get; init; } = 4096;
    public ImageLimits Limits { get; init; } = ImageLimits.Default;
    /// Decoded images kept for Image(key).
    public int KeepImages { get; init; } = 256;
    /// Images that could not be read, under SkipAndReport.
    public SkipReport BadImages { get; }

    public int Count => Index.Count;
    public long ImageTokenId => Tokenizer.ImageId;

    public StreamedConversations(LlavaRecordIndex index, ITokenizer tokenizer, ChatTemplate template, TowerImageProcessor processor)
    {
        (Index, Tokenizer, Template, Processor) = (index, tokenizer, template, processor);
        BadImages = new SkipReport(index.JsonPath);
    }

    /// Record i rendered: ids and labels, and its image key (null for a text-only record).
    public (MultimodalSample Sample, string? Image) Sample(int i)
    {
        var r = Index.Record(i);
        var turns = r.Conversations.Select((t, k) => new ChatTurn(t.From == LlavaRecord.Human ? ChatRole.User : ChatRole.Assistant,
                                                                  k == 0 && r.HasImage ? ImageFirst(t.Value) : t.Value)).ToList();
        RenderedChat chat;
        try { chat = Template.Render(Tokenizer, turns); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        { throw new LlavaFormatException($"'{Index.JsonPath}' record {Index.Position(i)} (id {r.Id}): {e.Message}"); }
        int n = Math.Min(chat.Ids.Length, ModelMaxLength);
        return (new MultimodalSample(chat.Ids[..n], chat.Labels[..n]), r.Image);
    }

    /// LLaVA's preprocess_multimodal: "<image>" taken out, the rest stripped, "<image>\n" put in front.
    public static string ImageFirst(string value) =>
        (LlavaRecord.ImageToken + "\n" + value.Replace(LlavaRecord.ImageToken, "").Trim()).Trim();

    /// The batch of records `indices` (records whose image cannot be read replaced as the class says).
    public StreamedBatch Batch(IReadOnlyList<int> indices, Device device)
    {
        var used = new List<int>(indices.Count);
        var rendered = new List<(MultimodalSample Sample, string? Image)>(indices.Count);
        foreach (var start in indices)
        {
            var (i, r) = Readable(start);
            used.Add(i); rendered.Add(r);
        }
        var keys = rendered.Select(r => r.Image).OfType<string>().ToList();
        var pixels = keys.Count == 0 ? null : Processor.Pixels(keys.Select(Image).ToList(), device);
        return new StreamedBatch(used, rendered.Select(r => r.Sample).ToList(), pixels, rendered.Select(r => r.Image is not null).ToArray(), keys);
    }

    /// Record `start`, or under SkipAndReport the first record from it on whose image reads.
    (int Index, (MultimodalSample, string?) Rendered) Readable(int start)
    {
        for (int k = 0; k < Count; k++)
        {
            int i = (start + k) % Count;
            var rendered = Sample(i);
            if (rendered.Image is not string key) return (i, rendered);
            try { Image(key); return (i, rendered); }
            catch (ImageLoadException e) when (Policy == MalformedRecordPolicy.SkipAndReport)
            { BadImages.Add(Index.Position(i), Index.Record(i).Id, e.Message); }
            catch (ImageLoadException e)
            { throw new ImageLoadException($"'{Index.JsonPath}' record {Index.Position(i)} (id {Index.Record(i).Id}): {e.Message}", e); }
        }
        throw new InvalidDataException($"'{Index.JsonPath}': no record has a readable image ({BadImages})");
    }

    /// The decoded image of a key (a record's `image`), from the last batches or from disk. Do not dispose it.
    public Image<Rgb24> Image(string key)
    {
        lock (_recent)
        {
            if (_recent.TryGetValue(key, out var kept)) return kept;
            var image = ImageLoader.Load(Index.ImagePath(key), Limits);
            _recent[key] = image;
            _order.Enqueue(key);
            while (_order.Count > KeepImages) { var old = _order.Dequeue(); _recent.Remove(old, out var gone); gone?.Dispose(); }
            return image;
        }
    }

    /// The images of `keys` in order (teacher targets). Do not dispose them.
    public IReadOnlyList<Image<Rgb24>> Images(IReadOnlyList<string> keys) => keys.Select(Image).ToList();

    public void Dispose()
    {
        lock (_recent) { foreach (var im in _recent.Values) im.Dispose(); _recent.Clear(); _order.Clear(); }
        Index.Dispose();
    }
}
