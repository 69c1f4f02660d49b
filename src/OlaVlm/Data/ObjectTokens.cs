using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Data;

/// Object tokens: a scene given to the LLM one position per object (World.SceneForm.Objects). Each
/// ScenePrompt.ObjectToken placeholder's input embedding is the mean of its object's word embeddings
/// ("cube", "red", "c1", "r5", "x5", "d9"), taken from the LLM's own table, so the words keep their meaning
/// and their gradients; every other position is its token's embedding, as usual.
/// Why: an image patch gives the LLM an object's colour, shape and place in one vector, so looking an object
/// up is one attention step. A scene spelled out word by word makes it a two-step induction, which the mini
/// LLM did not learn within its budget (SceneForm). The text oracle with object tokens asks the LLM exactly
/// what LLaVA asks of it, with perfect perception.
public static class ObjectTokens
{
    /// inputs_embeds [B, T, H] for ids [B, T]: objects[b] lists, in order, the words of row b's placeholders.
    public static Tensor Embed(LlamaForCausalLM lm, ITokenizer tok, Tensor ids, IReadOnlyList<IReadOnlyList<IReadOnlyList<string>>> objects)
    {
        long b = ids.shape[0], t = ids.shape[1];
        if (objects.Count != b) throw new ArgumentException($"ObjectTokens: {objects.Count} object lists for a batch of {b} rows");
        if (objects.All(o => o.Count == 0))
        {
            // No object tokens (the Words form, or a tokenizer without them): a stray placeholder would
            // otherwise be embedded as if it were a word.
            if (TryPlaceholderId(tok) is long ph && ids.eq(ph).any().item<bool>())
                throw new ArgumentException($"ObjectTokens: the batch has {ScenePrompt.ObjectToken} placeholders but no objects to fill them");
            return lm.Model.Embed(ids);
        }
        using var scope = NewDisposeScope();
        long placeholder = PlaceholderId(tok);
        var flat = ids.cpu().data<long>().ToArray();
        int k = objects.Max(row => row.Count == 0 ? 1 : row.Max(o => o.Count));
        var bag = new long[b * t * k];
        var weight = new float[b * t * k];
        for (int r = 0; r < b; r++)
        {
            int next = 0;
            for (int p = 0; p < t; p++)
            {
                long at = (r * t + p) * k;
                if (flat[r * t + p] != placeholder) { bag[at] = flat[r * t + p]; weight[at] = 1; continue; }
                if (next >= objects[r].Count)
                    throw new ArgumentException($"ObjectTokens: row {r} has more {ScenePrompt.ObjectToken} placeholders than its {objects[r].Count} objects");
                var words = objects[r][next++];
                for (int j = 0; j < words.Count; j++)
                {
                    var id = tok.Encode(words[j]);
                    if (id.Length != 1 || Decode(tok, id[0]) != words[j])
                        throw new ArgumentException($"ObjectTokens: object word '{words[j]}' (row {r}) is not one token of the vocabulary");
                    bag[at + j] = id[0];
                    weight[at + j] = 1f / words.Count;
                }
            }
            if (next != objects[r].Count)
                throw new ArgumentException($"ObjectTokens: row {r} has {next} {ScenePrompt.ObjectToken} placeholders but {objects[r].Count} objects");
        }
        var device = ids.device;
        var e = lm.Model.Embed(tensor(bag, [b, t, k], device: device));
        var w = tensor(weight, [b, t, k, 1], device: device).to(e.dtype);
        return (e * w).sum(2).MoveToOuterDisposeScope();
    }

    public static long PlaceholderId(ITokenizer tok) => TryPlaceholderId(tok)
        ?? throw new ArgumentException($"ObjectTokens: the tokenizer has no {ScenePrompt.ObjectToken} token (rebuild it: WordTokenizer scheme 3)");

    static long? TryPlaceholderId(ITokenizer tok)
    {
        var id = tok.Encode(ScenePrompt.ObjectToken);
        return id.Length == 1 && Decode(tok, id[0]) == ScenePrompt.ObjectToken ? id[0] : null;
    }

    static string Decode(ITokenizer tok, long id) => tok.Decode([id], skipSpecial: false);
}
