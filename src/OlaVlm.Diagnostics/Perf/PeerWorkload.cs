namespace OlaVlm.Diagnostics;

/// The loss and the gradient norm (before clipping) of one training step: what the peer check compares.
public readonly record struct StepResult(double Loss, double GradNorm);

/// One training step that the peer benchmark runs in C# and, from its export, in PyTorch
/// (environment/bench/peer_step.py). Export must come before the first Step: the PyTorch side starts from the
/// exported weights, so both sides' first steps compute the same loss from the same state.
public interface IPeerWorkload : IDisposable
{
    /// Short name: "decoder", "pt-baseline", "pt-ola".
    string Name { get; }
    /// One line with the shapes, for the report.
    string Description { get; }
    /// Writes spec.json, weights.safetensors and batch.safetensors (PeerExport) into `dir`.
    void Export(string dir);
    /// One full training step: zero_grad, forward, backward, clip, AdamW step; the loss read back (which also
    /// waits for the device).
    StepResult Step();
}
