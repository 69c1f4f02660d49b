using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Builds a MultimodalBatch: each sample's image placeholder expands into that image's projected patch
/// features, optionally followed by task-token embeddings (OLA-VLM's ⟨g⟩⟨d⟩⟨s⟩), then rows are padded.
/// Training batches are right-padded (as LLaVA); generation prompts must be left-padded.
public static class MultimodalCollator
{
    /// samples: B examples, each with 0 or 1 placeholder `imageTokenId`.
    /// imageFeatures: [numImages, numPatches, hidden], one row per sample that has a placeholder, in order.
    /// embed: token ids [1, n] → [1, n, hidden] (the LLM's embed_tokens).
    /// taskTokens: [numTaskTokens, hidden], inserted right after every image (labels Ignore), or null.
    public static MultimodalBatch Assemble(LlamaForCausalLM lm, IReadOnlyList<MultimodalSample> samples, Tensor? imageFeatures,
        long imageTokenId, Tensor? taskTokens = null, PaddingSide padding = PaddingSide.Right, int? maxLength = null)
    {
        var w = lm.Model.EmbedTokens.weight!;
        return Assemble(samples, imageFeatures, lm.Embed, w.device, w.dtype, imageTokenId, taskTokens, padding, maxLength);
    }

    /// As above with any embedding function (ids [1, n] on `device` → [1, n, hidden] of `dtype`).
    public static MultimodalBatch Assemble(IReadOnlyList<MultimodalSample> samples, Tensor? imageFeatures,
        Func<Tensor, Tensor> embed, Device device, ScalarType dtype, long imageTokenId, Tensor? taskTokens = null,
        PaddingSide padding = PaddingSide.Right, int? maxLength = null)
    {
        if (samples.Count == 0) throw new ArgumentException("MultimodalCollator: empty batch");
        using var scope = NewDisposeScope();
        long numImages = imageFeatures?.shape[0] ?? 0;
        int imageIndex = 0;
        var rows = new List<(Tensor Emb, long[] Labels, int Sys, int Img, int Task, bool HasImage)>();
        for (int s = 0; s < samples.Count; s++)
        {
            var (ids, labels) = (samples[s].InputIds, samples[s].Labels);
            if (ids.Length != labels.Length)
                throw new ArgumentException($"MultimodalCollator: sample {s} has {ids.Length} ids but {labels.Length} labels");
            var at = Enumerable.Range(0, ids.Length).Where(i => ids[i] == imageTokenId).ToArray();
            if (at.Length > 1) throw new ArgumentException($"MultimodalCollator: sample {s} has {at.Length} image placeholders (at most 1)");
            if (at.Length == 0) { rows.Add((EmbedIds(ids, embed, device), labels, 0, 0, 0, false)); continue; }

            if (imageFeatures is null || imageIndex >= numImages)
                throw new ArgumentException($"MultimodalCollator: sample {s} has an image placeholder but only {numImages} image feature rows were given");
            int p = at[0];
            var parts = new List<Tensor> { EmbedIds(ids[..p], embed, device) };
            var img = imageFeatures[imageIndex++].to(dtype);
            parts.Add(img);
            if (taskTokens is not null) parts.Add(taskTokens.to(dtype));
            parts.Add(EmbedIds(ids[(p + 1)..], embed, device));
            int nImg = (int)img.shape[0], nTask = (int)(taskTokens?.shape[0] ?? 0);
            var lab = labels[..p].Concat(Enumerable.Repeat(Model.Labels.Ignore, nImg + nTask)).Concat(labels[(p + 1)..]).ToArray();
            rows.Add((cat(parts, 0), lab, p, nImg, nTask, true));
        }
        if (imageIndex != numImages)
            throw new ArgumentException($"MultimodalCollator: {numImages} image feature rows given but only {imageIndex} samples have a placeholder");

        if (maxLength is int max && rows.Any(r => r.Labels.Length > max))
            throw new ArgumentException($"MultimodalCollator: assembled length {rows.Max(r => r.Labels.Length)} exceeds maxLength {max}");
        int T = rows.Max(r => r.Labels.Length);
        long hidden = rows[0].Emb.shape[1];
        var embs = new List<Tensor>();
        var mask = new long[samples.Count * T];
        var labelsOut = Enumerable.Repeat(Model.Labels.Ignore, samples.Count * T).ToArray();
        var spans = new List<SegmentSpans>();
        for (int s = 0; s < rows.Count; s++)
        {
            var r = rows[s];
            int n = r.Labels.Length, pad = T - n, off = padding == PaddingSide.Left ? pad : 0;
            var padEmb = zeros(pad, hidden, dtype: r.Emb.dtype, device: r.Emb.device);
            embs.Add(padding == PaddingSide.Left ? cat([padEmb, r.Emb], 0) : cat([r.Emb, padEmb], 0));
            for (int i = 0; i < n; i++) { mask[s * T + off + i] = 1; labelsOut[s * T + off + i] = r.Labels[i]; }
            int sysEnd = off + r.Sys, imgEnd = sysEnd + r.Img, taskEnd = imgEnd + r.Task;
            spans.Add(new SegmentSpans(new(off, sysEnd), new(sysEnd, imgEnd), new(imgEnd, taskEnd), new(taskEnd, off + n), r.HasImage));
        }
                var maskT = tensor(mask, device: device).view(samples.Count, T);
        var batch = new MultimodalBatch(
            stack(embs, 0).MoveToOuterDisposeScope(),
            maskT.MoveToOuterDisposeScope(),
            tensor(labelsOut, device: device).view(samples.Count, T).MoveToOuterDisposeScope(),
            LlamaModel.DefaultPositions(maskT, T).MoveToOuterDisposeScope(),
            spans);
        return batch;
    }

    static Tensor EmbedIds(long[] ids, Func<Tensor, Tensor> embed, Device device)
    {
        // Embedding a zero-length row is valid in libtorch and keeps the code branch-free.
        var t = tensor(ids, dtype: ScalarType.Int64, device: device).view(1, ids.Length);
        return embed(t)[0];
    }
}
