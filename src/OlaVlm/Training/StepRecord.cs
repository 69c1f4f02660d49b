namespace OlaVlm.Training;

/// One optimizer step as the Trainer saw it (History keeps every step; metrics files the logged ones).
/// Step is 1-based: the number of optimizer steps completed, like HF's global_step.
public sealed record StepRecord(int Step, double Loss, IReadOnlyDictionary<string, double> Parts,
                                double GradNorm, double[] Lrs, double Seconds, int Samples);
