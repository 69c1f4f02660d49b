using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Eval;

/// The text oracle: the mini LLM answering the benchmark from the scene in words instead of the image
/// ("scene: red cube col 1 row 5 x 5 depth 9; … \n" + the item's CV-Bench prompt). It shows what the LLM
/// can reason once perception is perfect — the ceiling for LLaVA-1.5 and OLA-VLM in the ladder.
public static class TextOracle
{
    /// The text prompt of every item, from the benchmark's scene object lists (bench/objects.json).
    public static List<string> Prompts(WorldData world, IReadOnlyList<CvBenchItem> items)
    {
        var scenes = world.Scenes("bench").ToDictionary(s => s.Image);
        int size = world.Manifest.Config.ImageSize;
        return items.Select(it => scenes.TryGetValue(it.Filename, out var s)
            ? SceneText.Prompt(SceneText.Facts(s.Objects, size), it.Prompt)
            : throw new KeyNotFoundException($"{world.ObjectsJson("bench")}: no scene for benchmark image '{it.Filename}' (item {it.Idx})")).ToList();
    }

    /// Greedy replies of a text-only LLM to user turns, `batchSize` prompts at a time (left-padded).
    public static List<string> Answer(LlamaForCausalLM lm, ITokenizer tok, ChatTemplate template, IReadOnlyList<string> prompts,
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
                var rendered = prompts.Skip(start).Take(batchSize)
                    .Select(p => template.Render(tok, [new ChatTurn(ChatRole.User, p)], addGenerationPrompt: true).Ids).ToList();
                int t = rendered.Max(r => r.Length), b = rendered.Count;
                var ids = new long[b * t]; var mask = new long[b * t];
                Array.Fill(ids, tok.PadId);
                for (int i = 0; i < b; i++)
                {
                    int pad = t - rendered[i].Length;
                    rendered[i].CopyTo(ids, i * t + pad);
                    Array.Fill(mask, 1L, i * t + pad, rendered[i].Length);
                }
                var output = Generation.Generate(lm, tensor(ids, [b, t], device: device), null, tensor(mask, [b, t], device: device), opts);
                replies.AddRange(output.Select(o => tok.Decode(o)));
            }
        }
        finally { if (wasTraining) lm.train(); }
        return replies;
    }

    public static (CvBenchScore Score, List<string> Replies) Evaluate(LlamaForCausalLM lm, ITokenizer tok, ChatTemplate template, WorldData world,
                                                                     IReadOnlyList<CvBenchItem> items, int maxNewTokens = 48, int batchSize = 32, Device? device = null)
    {
        var replies = Answer(lm, tok, template, Prompts(world, items), maxNewTokens, batchSize, device);
        return (CvBenchScorer.Score(items, replies), replies);
    }

    /// Teacher-forced accuracy of the answer tokens on reasoning samples (SceneQaData, benchmark questions with
    /// one-hop ones mixed in), split into the token that follows an object's key — its column fact, the one
    /// token that needs the key→facts look-up — and all other answer tokens (the rest of a copied entry follows
    /// by induction from its first fact). High "other", low "after a key" is the signature of an LLM that has
    /// learned to copy an entry but not to find it.
    public static (double AfterKey, long AfterKeyTokens, double Other, long OtherTokens) TeacherForced(
        LlamaForCausalLM lm, ITokenizer tok, ChatTemplate template, Foundation.SceneQaData data, int batches = 8, int batchSize = 16, Device? device = null)
    {
        device ??= lm.parameters().First().device;
        bool wasTraining = lm.training;
        lm.eval();
        var curriculum = new Curriculum(0, 0.2, 0.0);
        long keyRight = 0, keyTotal = 0, otherRight = 0, otherTotal = 0;
        try
        {
            for (int b = 0; b < batches; b++)
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                var (ids, labels, mask) = data.Batch(1234, b, batchSize, curriculum, tok, template, device);
                var pred = lm.forward(ids, attentionMask: mask).Logits[.., ..^1, ..].argmax(-1).cpu().data<long>().ToArray();
                var lab = labels[.., 1..].cpu().data<long>().ToArray();
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
