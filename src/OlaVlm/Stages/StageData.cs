using OlaVlm.Data;
using OlaVlm.Model;
using static TorchSharp.torch;

namespace OlaVlm.Stages;

/// One training micro-batch: samples, pixels (one row per image sample, in order), which samples have an
/// image, and those images' keys (for teacher targets).
public sealed record StageBatch(IReadOnlyList<MultimodalSample> Samples, Tensor? Pixels, bool[] HasImage, IReadOnlyList<string> ImageKeys);

/// Where a stage gets its batches. Batch `index` (= step · GradAccum + microStep) must be a pure function
/// of (seed, index), so a resumed stage — and the other arm of an experiment — sees the same data.
public interface IStageData
{
    long ImageTokenId { get; }
    StageBatch Batch(long seed, int index, int batchSize, Device device);
}

/// A ConversationData (world PT/IFT json + image bank) as stage data.
public sealed class ConversationStageData(ConversationData data, long imageTokenId) : IStageData
{
    public ConversationData Data => data;
    public long ImageTokenId => imageTokenId;

    public StageBatch Batch(long seed, int index, int batchSize, Device device)
    {
        // StageOrder rather than ConversationData.BatchAt: its shuffle seed goes through HashCode.Combine,
        // which .NET salts per process, so a resume in a new process would see other batches.
        var b = data.Batch(StageOrder.Indices(seed, index, batchSize, data.Count));
        return new StageBatch(b.Samples, data.Pixels(b, device), b.HasImage(imageTokenId), b.ImageKeys);
    }
}

/// Samples and images held in memory (tests, small experiments). images[key] = [3, H, W] normalised pixels;
/// keys[i] is sample i's image key, or null for a text-only sample.
public sealed class InMemoryStageData : IStageData
{
    readonly IReadOnlyList<MultimodalSample> _samples;
    readonly IReadOnlyList<string?> _keys;
    readonly IReadOnlyDictionary<string, Tensor> _images;
    public long ImageTokenId { get; }
    public int Count => _samples.Count;

    public InMemoryStageData(IReadOnlyList<MultimodalSample> samples, IReadOnlyList<string?> keys, IReadOnlyDictionary<string, Tensor> images, long imageTokenId)
    {
        if (samples.Count != keys.Count) throw new ArgumentException($"InMemoryStageData: {samples.Count} samples but {keys.Count} image keys");
        for (int i = 0; i < samples.Count; i++)
        {
            bool has = samples[i].InputIds.Contains(imageTokenId);
            if (has != (keys[i] is not null)) throw new ArgumentException($"InMemoryStageData: sample {i} {(has ? "has an image placeholder but no image key" : "has an image key but no placeholder")}");
            if (keys[i] is string k && !images.ContainsKey(k)) throw new KeyNotFoundException($"InMemoryStageData: sample {i} names image '{k}', which is not among the images");
        }
        (_samples, _keys, _images, ImageTokenId) = (samples, keys, images, imageTokenId);
    }

    public StageBatch Batch(long seed, int index, int batchSize, Device device)
    {
        if (batchSize <= 0 || batchSize > Count) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size {batchSize} for {Count} samples");
        var idx = StageOrder.Indices(seed, index, batchSize, Count);
        var keys = idx.Select(i => _keys[i]).OfType<string>().ToList();
        var pixels = keys.Count == 0 ? null : stack(keys.Select(k => _images[k]).ToArray(), 0).to(device);
        return new StageBatch(idx.Select(i => _samples[i]).ToList(), pixels, idx.Select(i => _keys[i] is not null).ToArray(), keys);
    }
}

/// Batch `index` of a seeded epoch-by-epoch shuffle: the same in every process (no HashCode salt).
public static class StageOrder
{
    public static IReadOnlyList<int> Indices(long seed, int index, int batchSize, int count)
    {
        if (batchSize <= 0 || batchSize > count) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size {batchSize} for a dataset of {count}");
        int perEpoch = count / batchSize, epoch = index / perEpoch, offset = index % perEpoch * batchSize;
        var order = Enumerable.Range(0, count).ToArray();
        new Random((int)(Training.TrainConfig.StepSeed(seed, epoch) & 0x7FFF_FFFF)).Shuffle(order);
        return order.Skip(offset).Take(batchSize).ToList();
    }
}

/// The curriculum as stage data: batches before `oneHopBatches` come from the one-hop pool
/// (ift_onehop.json), later ones from the benchmark pool (ift.json, which keeps a share of one-hop turns).
/// Why: two-object comparisons give the gradient no signal until the model can look objects up; one-hop
/// questions first teach the look-up. With oneHopBatches = 0 it is the benchmark pool alone (no curriculum).
public sealed class CurriculumStageData(IStageData oneHop, IStageData benchmark, int oneHopBatches) : IStageData
{
    public long ImageTokenId => benchmark.ImageTokenId;
    public int OneHopBatches => oneHopBatches;

    public StageBatch Batch(long seed, int index, int batchSize, Device device) =>
        index < oneHopBatches ? oneHop.Batch(seed, index, batchSize, device) : benchmark.Batch(seed, index - oneHopBatches, batchSize, device);
}
