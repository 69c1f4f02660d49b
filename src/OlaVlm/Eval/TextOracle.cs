using OlaVlm.Data;
using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Eval;

/// The text oracle: the mini LLM answering the benchmark from the scene in words instead of the image
/// (ScenePrompt: "scene: [cube red c1 r5 x5 d9] [sphere blue c6 r4 x12 d14].\n" + the item's CV-Bench prompt,
/// one object token per bracket in the default SceneForm.Objects). It shows what the LLM
/// can reason once perception is perfect — the ceiling for LLaVA-1.5 and OLA-VLM in the ladder.
public static class TextOracle
{
    /// The prompt of every item: the benchmark scene's object list (bench/objects.json) in `form`, then the
    /// item's CV-Bench prompt.
    public static List<ScenePrompt> Prompts(WorldData world, SceneForm form, IReadOnlyList<CvBenchItem> items)
    {
        var scenes = world.Scenes("bench").ToDictionary(s => s.Image);
        int size = world.Manifest.Config.ImageSize;
        return items.Select(it => scenes.TryGetValue(it.Filename, out var s)
            ? ScenePrompt.Of(SceneText.Facts(s.Objects, size), it.Prompt, form)
            : throw new KeyNotFoundException($"{world.ObjectsJson("bench")}: no scene for benchmark image '{it.Filename}' (item {it.Idx})")).ToList();
    }

    /// Greedy replies of a text-only LLM to user turns, `batchSize` prompts at a time (left-padded).
    public static List<string> Answer(LlamaForCausalLM lm, ITokenizer tok, ChatTemplate template, IReadOnlyList<ScenePrompt> prompts,
                                      int maxNewTokens, int batchSize = 32, Device? device = null)
    {
        device ??= lm.parameters().First().device;
        var opts = new GenerationOptions(MaxNewTokens: maxNewTokens, StopTokenId: template.StopId(tok), PadTokenId: tok.PadId);
        var replies = new List<string>(prompts.Count);
        bool wasTraining = lm.training;
        lm.eval();
        try
        {
            for (int start = 0; start < prompts.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                var chunk = prompts.Skip(start).Take(batchSize).ToList();
                var rendered = chunk.Select(p => template.Render(tok, [new ChatTurn(ChatRole.User, p.Text)], addGenerationPrompt: true).Ids).ToList();
                int t = rendered.Max(r => r.Length), b = rendered.Count;
                var ids = new long[b * t]; var mask = new long[b * t];
                Array.Fill(ids, tok.PadId);
                for (int i = 0; i < b; i++)
                {
                    int pad = t - rendered[i].Length;
                    rendered[i].CopyTo(ids, i * t + pad);
                    Array.Fill(mask, 1L, i * t + pad, rendered[i].Length);
                }
                var embeds = ObjectTokens.Embed(lm, tok, tensor(ids, [b, t], device: device), chunk.Select(p => p.Objects).ToList());
                var output = Generation.Generate(lm, null, embeds, tensor(mask, [b, t], device: device), opts);
                replies.AddRange(output.Select(o => tok.Decode(o)));
            }
        }
        finally { if (wasTraining) lm.train(); }
        return replies;
    }

    public static (CvBenchScore Score, List<string> Replies) Evaluate(LlamaForCausalLM lm, ITokenizer tok, ChatTemplate template, WorldData world, SceneForm form,
                                                                     IReadOnlyList<CvBenchItem> items, int maxNewTokens = 48, int batchSize = 32, Device? device = null)
    {
        var replies = Answer(lm, tok, template, Prompts(world, form, items), maxNewTokens, batchSize, device);
        return (CvBenchScorer.Score(items, replies), replies);
    }

    /// Teacher-forced accuracy of the answer tokens on reasoning samples (SceneQaData, benchmark questions with
    /// one-hop ones mixed in), split into the token that follows an object's key — its column fact, the one
    /// token that needs the key→facts look-up — and all other answer tokens (the rest of a copied entry follows
    /// by induction from its first fact). High "other", low "after a key" is the signature of an LLM that has
    /// learned to copy an entry but not to find it.
    public static (double AfterKey, long AfterKeyTokens, double Other, long OtherTokens) TeacherForced(
        LlamaForCausalLM lm, ITokenizer tok, ChatTemplate template, SceneQaData data, int batches = 8, int batchSize = 16, Device? device = null, Curriculum? curriculum = null)
    {
        device ??= lm.parameters().First().device;
        bool wasTraining = lm.training;
        lm.eval();
        curriculum ??= new Curriculum(0, 0.2, 0.0);
        long keyRight = 0, keyTotal = 0, otherRight = 0, otherTotal = 0;
        try
        {
            for (int b = 0; b < batches; b++)
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                using var batch = data.Batch(1234, b, batchSize, curriculum, tok, template, device);
                var pred = lm.forward(inputsEmbeds: batch.Embed(lm, tok), attentionMask: batch.Mask).Logits[.., ..^1, ..].argmax(-1).cpu().data<long>().ToArray();
                var lab = batch.Labels[.., 1..].cpu().data<long>().ToArray();
                for (int i = 0; i < lab.Length; i++)
                {
                    if (lab[i] == Labels.Ignore) continue;
                    var word = tok.Decode([lab[i]]).Trim();
                    bool afterKey = word.Length == 2 && word[0] == 'c' && char.IsDigit(word[1]);
                    if (afterKey) { keyTotal++; if (pred[i] == lab[i]) keyRight++; }
                    else { otherTotal++; if (pred[i] == lab[i]) otherRight++; }
                }
            }
        }
        finally { if (wasTraining) lm.train(); }
        return (keyTotal == 0 ? double.NaN : keyRight / (double)keyTotal, keyTotal, otherTotal == 0 ? double.NaN : otherRight / (double)otherTotal, otherTotal);
    }
}
