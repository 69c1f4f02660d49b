namespace OlaVlm.Training;

/// Thrown when a loss part or the gradient norm is NaN/Inf. Nothing was applied or written for that
/// step: the weights are the previous step's and the last good checkpoint is untouched.
public sealed class NonFiniteLossException(int step, string part, double value, string message) : Exception(message)
{
    public int Step { get; } = step;
    public string Part { get; } = part;
    public double Value { get; } = value;
}
