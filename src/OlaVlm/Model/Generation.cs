using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Decoding knobs. Temperature 0 = greedy (argmax); otherwise softmax(logits / T) restricted to the
/// smallest set of tokens whose probability reaches TopP (nucleus sampling).
public sealed record GenerationOptions(
    int MaxNewTokens = 32,
    long? StopTokenId = null,
    double Temperature = 0.0,
    double TopP = 1.0,
    long Seed = 0,
    bool UseCache = true,
    long PadTokenId = 0);

/// Picks the next token from the last position's logits.
public static class Sampler
{
    /// logits [B, V] → token ids [B].
    public static Tensor Next(Tensor logits, GenerationOptions o, Generator? gen = null)
    {
        using var scope = NewDisposeScope();
        if (o.Temperature <= 0) return logits.argmax(-1).MoveToOuterDisposeScope();
        var probs = (logits.to(ScalarType.Float32) / o.Temperature).softmax(-1);
        if (o.TopP < 1.0)
        {
            var (sorted, idx) = probs.sort(-1, descending: true);
            var before = sorted.cumsum(-1) - sorted;            // mass strictly before each token
            sorted = sorted.masked_fill(before.ge(o.TopP), 0);  // the top token always survives
            probs = zeros_like(probs).scatter(-1, idx, sorted);
            probs = probs / probs.sum(-1, keepdim: true);
        }
        return multinomial(probs, 1, generator: gen).squeeze(-1).MoveToOuterDisposeScope();
    }
}

/// Autoregressive decoding for LlamaForCausalLM (batched; prompts must be left-padded so every row's
/// last position is a real token).
public static class Generation
{
    /// Prompt as ids [B, T] or embeddings [B, T, hidden] (multimodal prompts), with attentionMask [B, T].
    /// Returns, per row, the generated ids without the stop token.
    public static long[][] Generate(LlamaForCausalLM lm, Tensor? inputIds, Tensor? inputsEmbeds, Tensor? attentionMask,
        GenerationOptions o)
    {
        using var noGrad = no_grad();
        var prompt = inputsEmbeds ?? lm.Embed(inputIds ?? throw new ArgumentException("Generate: no prompt"));
        long b = prompt.shape[0], t = prompt.shape[1];
        // A private copy: the loop replaces (and disposes) the mask every step.
        var mask = attentionMask is null ? ones(b, t, dtype: ScalarType.Int64, device: prompt.device) : attentionMask.clone().to(ScalarType.Int64);
        if (mask[.., -1].eq(0).any().item<bool>())
            throw new ArgumentException("Generate: the prompt's last column contains padding; left-pad prompts for generation");
        using var gen = o.Temperature > 0 ? new Generator((ulong)o.Seed, prompt.device) : null;
        var outputs = Enumerable.Range(0, (int)b).Select(_ => new List<long>()).ToArray();
        var done = new bool[b];
        using var cache = o.UseCache ? lm.NewCache() : null;
        Tensor embeds = prompt.alias().DetachFromDisposeScope();   // full sequence so far (no-cache path)
        Tensor step = embeds.alias().DetachFromDisposeScope();     // what the next forward consumes
        try
        {
            for (int n = 0; n < o.MaxNewTokens && !done.All(d => d); n++)
            {
                using var scope = NewDisposeScope();
                using var output = lm.forward(inputsEmbeds: step, attentionMask: mask, cache: cache);
                var next = Sampler.Next(output.Logits[.., -1, ..], o, gen);
                var ids = next.cpu().data<long>().ToArray();
                for (int i = 0; i < b; i++)
                {
                    if (done[i]) { ids[i] = o.PadTokenId; continue; }
                    if (o.StopTokenId == ids[i]) done[i] = true; else outputs[i].Add(ids[i]);
                }
                var nextIds = tensor(ids, device: prompt.device).unsqueeze(1);
                var nextEmb = lm.Embed(nextIds).to(prompt.dtype);
                var newMask = cat([mask, ones(b, 1, dtype: ScalarType.Int64, device: prompt.device)], 1).DetachFromDisposeScope();
                mask.Dispose(); mask = newMask;
                var newEmbeds = cache is null ? cat([embeds, nextEmb], 1).DetachFromDisposeScope() : embeds;
                step.Dispose();
                step = (cache is null ? newEmbeds.alias() : nextEmb).DetachFromDisposeScope();
                if (!ReferenceEquals(newEmbeds, embeds)) { embeds.Dispose(); embeds = newEmbeds; }
            }
        }
        finally { step.Dispose(); embeds.Dispose(); mask.Dispose(); }
        return outputs.Select(l => l.ToArray()).ToArray();
    }
}
