using OlaVlm.Data;
using static TorchSharp.torch;

namespace OlaVlm.Stages;

/// A released LLaVA dataset (StreamedConversations: records read, rendered and preprocessed per batch) as stage
/// data. Batch `index` is the same seeded epoch-by-epoch shuffle as every other IStageData (StageOrder): a pure
/// function of (seed, index), so a resumed stage sees the batches the uninterrupted one would have. The epoch's
/// permutation is kept between batches (for 665K records, drawing it for every micro-batch would cost more than
/// the batch).
public sealed class StreamedStageData(StreamedConversations data) : IStageData, IDisposable
{
    (long Seed, int Epoch, int[] Order)? _epoch;

    public StreamedConversations Data => data;
    public long ImageTokenId => data.ImageTokenId;
    public int Count => data.Count;

    public StageBatch Batch(long seed, int index, int batchSize, Device device)
    {
        if (batchSize <= 0 || batchSize > Count) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size {batchSize} for a dataset of {Count}");
        if (2 * batchSize > data.KeepImages) throw new ArgumentException($"StreamedStageData: batch {batchSize} needs KeepImages ≥ {2 * batchSize} (is {data.KeepImages})");
        int perEpoch = Count / batchSize, epoch = index / perEpoch, offset = index % perEpoch * batchSize;
        var b = data.Batch(Order(seed, epoch).Skip(offset).Take(batchSize).ToList(), device);
        return new StageBatch(b.Samples, b.Pixels, b.HasImage, b.ImageKeys);
    }

    /// StageOrder's permutation of one epoch (the same Random seed and shuffle), computed once per epoch.
    int[] Order(long seed, int epoch)
    {
        if (_epoch is { } e && e.Seed == seed && e.Epoch == epoch) return e.Order;
        var order = Enumerable.Range(0, Count).ToArray();
        new Random((int)(Training.TrainConfig.StepSeed(seed, epoch) & 0x7FFF_FFFF)).Shuffle(order);
        _epoch = (seed, epoch, order);
        return order;
    }

    public void Dispose() => data.Dispose();
}
