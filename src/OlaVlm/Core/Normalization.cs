namespace OlaVlm.Core;

/// Per-channel normalisation; CLIP's values are the default because OLA-VLM's base encoder is CLIP.
public sealed record Normalization(float[] Mean, float[] Std)
{
    public static Normalization Clip { get; } = new([0.48145466f, 0.4578275f, 0.40821073f], [0.26862954f, 0.26130258f, 0.27577711f]);
    public static Normalization None { get; } = new([0f, 0f, 0f], [1f, 1f, 1f]);
}
