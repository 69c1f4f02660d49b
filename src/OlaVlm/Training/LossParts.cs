using static TorchSharp.torch;

namespace OlaVlm.Training;

/// What a step function returns for one micro-batch: the loss to back-propagate and its named parts
/// (e.g. "lm" and "emb_depth") for logging. Parts are scalar tensors or plain numbers; they are
/// only read, never back-propagated, and a non-finite part stops training naming that part.
public sealed class LossParts
{
    /// The scalar to minimise: the *mean* loss over this micro-batch (the Trainer divides by GradAccum).
    public Tensor Loss { get; }
    public IReadOnlyList<(string Name, Tensor Value)> Parts { get; }
    /// Samples in this micro-batch, for samples/s; null = TrainConfig.BatchSize.
    public int? Samples { get; init; }

    public LossParts(Tensor loss, params (string Name, Tensor Value)[] parts)
    {
        if (loss.numel() != 1)
            throw new ArgumentException($"LossParts: the loss must be a scalar, got shape [{string.Join(", ", loss.shape)}]");
        var dup = parts.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1 || g.Key is "loss" or "step");
        if (dup != null)
            throw new ArgumentException($"LossParts: part name '{dup.Key}' is repeated or reserved");
        Loss = loss;
        Parts = parts;
    }
}

/// One micro-batch of training, as an object (the Trainer also takes a plain Func).
/// `step` is the optimizer step (0-based), `microStep` runs 0..GradAccum-1: together with the seed
/// they determine the batch, which is what makes resuming exact.
public interface ITrainStep
{
    LossParts Loss(int step, int microStep);
}
