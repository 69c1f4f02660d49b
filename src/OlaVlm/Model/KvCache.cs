using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Keys and values of one attention layer for the tokens seen so far ([B, kvHeads, T, headDim]).
/// The cache owns its tensors (detached from dispose scopes) so a decoding loop can run each step
/// inside its own scope without losing them.
public sealed class LayerKvCache : IDisposable
{
    public Tensor? Keys { get; private set; }
    public Tensor? Values { get; private set; }
    public long Length => Keys?.shape[2] ?? 0;

    /// Appends this step's keys/values along the time axis and returns the full keys/values.
    public (Tensor Keys, Tensor Values) Append(Tensor k, Tensor v)
    {
        var newK = Keys is null ? k.detach().clone() : cat([Keys, k.detach()], 2);
        var newV = Values is null ? v.detach().clone() : cat([Values, v.detach()], 2);
        Keys?.Dispose(); Values?.Dispose();
        Keys = newK.DetachFromDisposeScope();
        Values = newV.DetachFromDisposeScope();
        return (Keys, Values);
    }

    public void Dispose() { Keys?.Dispose(); Values?.Dispose(); Keys = Values = null; }
}

/// One LayerKvCache per decoder layer.
public sealed class KvCache(int numLayers) : IDisposable
{
    public IReadOnlyList<LayerKvCache> Layers { get; } = Enumerable.Range(0, numLayers).Select(_ => new LayerKvCache()).ToList();

    /// Number of positions already cached (0 before the first forward).
    public long Length => Layers.Count == 0 ? 0 : Layers[0].Length;

    public void Dispose() { foreach (var l in Layers) l.Dispose(); }
}
