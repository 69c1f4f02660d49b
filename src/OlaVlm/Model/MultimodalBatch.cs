using static TorchSharp.torch;

namespace OlaVlm.Model;

/// One training/inference example before assembly: token ids with at most one image placeholder, and
/// labels of the same length (Labels.Ignore where not supervised; the placeholder's label is ignored).
public sealed record MultimodalSample(long[] InputIds, long[] Labels)
{
    public static MultimodalSample Prompt(long[] ids) => new(ids, Enumerable.Repeat(Model.Labels.Ignore, ids.Length).ToArray());
}

/// Half-open index range [Start, End) in the padded sequence.
public readonly record struct Span(int Start, int End)
{
    public int Length => End - Start;
    public bool IsEmpty => End <= Start;
    public override string ToString() => $"[{Start}, {End})";
}

/// Where each segment of one assembled sample sits: [system | image | task tokens | text]. For a
/// text-only sample HasImage is false, System/Image/TaskTokens are empty (at the first real token) and
/// Text covers every real token. OLA-VLM's predictors gather hidden states at these positions.
public sealed record SegmentSpans(Span System, Span Image, Span TaskTokens, Span Text, bool HasImage)
{
    /// All real (non-padding) positions.
    public Span Tokens => new(System.Start, Text.End);
}

/// LLaVA's prepare_inputs_labels_for_multimodal output, padded to one length.
/// InputsEmbeds [B, T, hidden]; AttentionMask [B, T] int64 (1 = token); Labels [B, T] int64 (Ignore on
/// system, image, task tokens, prompt and padding); PositionIds [B, T]; Spans one per sample.
public sealed record MultimodalBatch(Tensor InputsEmbeds, Tensor AttentionMask, Tensor Labels, Tensor PositionIds,
    IReadOnlyList<SegmentSpans> Spans) : IDisposable
{
    public long BatchSize => InputsEmbeds.shape[0];
    public long Length => InputsEmbeds.shape[1];

    public void Dispose() { InputsEmbeds.Dispose(); AttentionMask.Dispose(); Labels.Dispose(); PositionIds.Dispose(); }
}

public enum PaddingSide { Right, Left }
