using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Data;

/// A batch of scene conversations: ids, labels (answers only) and mask [B, T], right-padded, and the words of
/// each row's object tokens (empty lists in the Words form).
public sealed record SceneBatch(Tensor Ids, Tensor Labels, Tensor Mask, IReadOnlyList<IReadOnlyList<IReadOnlyList<string>>> Objects) : IDisposable
{
    /// The LLM's input embeddings for this batch (ObjectTokens.Embed).
    public Tensor Embed(LlamaForCausalLM lm, ITokenizer tok) => ObjectTokens.Embed(lm, tok, Ids, Objects);

    public void Dispose() { Ids.Dispose(); Labels.Dispose(); Mask.Dispose(); }
}

/// The mini LLM's reasoning pre-training data: scenes given in text (ScenePrompt, in `form`), each with
/// questions and reasoned answers (SceneQa), drawn afresh for every step from the object lists of the world's
/// PT and IFT scenes (never the benchmark's). The text oracle asks in the same format.
public sealed class SceneQaData(IReadOnlyList<Scene> scenes, SceneForm form)
{
    public IReadOnlyList<Scene> Scenes { get; } = scenes.Count > 0 ? scenes : throw new ArgumentException("SceneQaData: no scenes");
    public SceneForm Form { get; } = form;

    public static SceneQaData FromWorld(WorldData world, SceneForm form, params string[] splits) =>
        new(splits.SelectMany(s => world.Scenes(s)).Select(r => SceneQa.Shell(r.Id, r.Objects, world.Manifest.Config.ImageSize)).ToList(), form);

    /// Conversation `index` of `step`: one scene, then `turns` questions about it, each answered (several
    /// questions per scene give more supervised tokens per step for little more sequence), and the words of
    /// the scene's object tokens.
    public (List<ChatTurn> Turns, IReadOnlyList<IReadOnlyList<string>> Objects) Conversation(long seed, int step, int index, Curriculum curriculum, int turns)
    {
        var rng = new Rng(Rng.Derive((ulong)seed, step, index));
        var scene = rng.Pick(Scenes);
        var facts = SceneText.Facts(scene.Objects, scene.Width);
        var chat = new List<ChatTurn>();
        IReadOnlyList<IReadOnlyList<string>> objects = [];
        for (int t = 0; t < turns; t++)
        {
            var qa = SceneQa.Sample(scene, curriculum, step, rng);
            var prompt = t == 0 ? ScenePrompt.Of(facts, qa.Question, Form) : ScenePrompt.Plain(qa.Question);
            if (t == 0) objects = prompt.Objects;
            chat.Add(new(ChatRole.User, prompt.Text));
            chat.Add(new(ChatRole.Assistant, qa.Answer));
        }
        return (chat, objects);
    }

    /// A training batch rendered through the chat template, right-padded to the longest sample.
    public SceneBatch Batch(long seed, int step, int batchSize, Curriculum curriculum, ITokenizer tok, ChatTemplate template, Device device, int turns = 1)
    {
        var convs = Enumerable.Range(0, batchSize).Select(i => Conversation(seed, step, i, curriculum, turns)).ToList();
        var chats = convs.Select(c => template.Render(tok, c.Turns)).ToList();
        int t = chats.Max(c => c.Ids.Length);
        var ids = new long[batchSize * t]; var labels = new long[batchSize * t]; var mask = new long[batchSize * t];
        Array.Fill(ids, tok.PadId); Array.Fill(labels, Labels.Ignore);
        for (int b = 0; b < batchSize; b++)
        {
            chats[b].Ids.CopyTo(ids, b * t); chats[b].Labels.CopyTo(labels, b * t);
            Array.Fill(mask, 1L, b * t, chats[b].Ids.Length);
        }
        return new(tensor(ids, [batchSize, t], device: device), tensor(labels, [batchSize, t], device: device),
                   tensor(mask, [batchSize, t], device: device), convs.Select(c => c.Objects).ToList());
    }
}
