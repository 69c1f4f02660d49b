namespace OlaVlm.Training;

/// Training stopped between two steps because an interrupt was requested (Core.Interrupt: a notebook cell's
/// interrupt, the runner's cell timeout, Ctrl+C). Nothing is half-written: the run's last checkpoint (written at the
/// stop when a step was trained since the previous one) holds step `Step`, so running the same code again resumes there.
public sealed class TrainingInterruptedException(int step, int steps, string? checkpoint, string message)
    : OperationCanceledException(message)
{
    public int Step { get; } = step;
    public int Steps { get; } = steps;
    /// The checkpoint a rerun resumes from (null: nothing was trained yet, a rerun starts at step 0).
    public string? Checkpoint { get; } = checkpoint;
}
