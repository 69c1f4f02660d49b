using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// The three kinds of frozen teacher whose features OLA-VLM distils into intermediate LLM layers.
/// Depth = Depth-Anything-v2 (DINOv2 blocks), Seg = OneFormer (last backbone stage), Gen = SD-2.1-unCLIP
/// (one global image embedding).
public enum TeacherKind { Depth, Seg, Gen }

/// A frozen teacher: turns images into the target embedding an OLA-VLM predictor must reproduce.
///
/// Why an interface: the miniature world trains its own small teachers (DepthTeacher, SegTeacher,
/// GenTeacher), while a full-scale run loads DAv2 / OneFormer / unCLIP from local checkpoints. Both feed
/// the same target cache and the same embedding loss, so everything downstream sees only this.
public interface ITeacher : IDisposable
{
    /// Stable, human-readable name; used in cache file names ("depth-mini", "dav2-vitl").
    string Name { get; }

    TeacherKind Kind { get; }

    /// [tokens, dim] of one image's target: e.g. [16, 32] (miniature depth), [576, 1024] (DAv2-L), [1, 1024] (unCLIP).
    long[] TargetShape { get; }

    Device Device { get; }

    /// images [B, 3, H, W] float (normalised, any device) → target [B, tokens, dim] float32 on `Device`.
    /// Always eval mode, no gradient; the result never requires grad.
    Tensor Encode(Tensor images);

    /// Turns a target-shaped embedding [B, tokens, dim] back into a picture, or null when the teacher has
    /// no decoder. Depth: [B, H, W] depth; Seg: [B, K, H, W] class logits; Gen: [B, 3, H, W] image.
    /// Used to look at what an LLM layer's predicted embedding "means".
    Tensor? Decode(Tensor embedding);

    /// Content hash (hex) of everything that determines the targets: kind, config and weights.
    /// Keys the target cache: a different hash means cached targets are stale.
    string WeightsHash { get; }
}
