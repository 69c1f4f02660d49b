using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Foundation;

/// The mini LLM's reasoning pre-training data: scenes in words (SceneText), each with a question and a
/// reasoned answer (SceneQa), drawn afresh for every step from the object lists of the world's PT and IFT
/// scenes (never the benchmark's). The text oracle is the same format: "scene: … \n question".
public sealed class SceneQaData(IReadOnlyList<Scene> scenes)
{
    public IReadOnlyList<Scene> Scenes { get; } = scenes.Count > 0 ? scenes : throw new ArgumentException("SceneQaData: no scenes");

    public static SceneQaData FromWorld(WorldData world, params string[] splits) =>
        new(splits.SelectMany(s => world.Scenes(s)).Select(r => SceneQa.Shell(r.Id, r.Objects, world.Manifest.Config.ImageSize)).ToList());

    /// Conversation `index` of `step`: one scene in words, then `turns` questions about it, each answered
    /// (several questions per scene give more supervised tokens per step for little more sequence).
    public List<ChatTurn> Conversation(long seed, int step, int index, Curriculum curriculum, int turns)
    {
        var rng = new Rng(Rng.Derive((ulong)seed, step, index));
        var scene = rng.Pick(Scenes);
        var facts = SceneText.Facts(scene.Objects, scene.Width);
        var chat = new List<ChatTurn>();
        for (int t = 0; t < turns; t++)
        {
            var qa = SceneQa.Sample(scene, curriculum, step, rng);
            chat.Add(new(ChatRole.User, t == 0 ? SceneText.Prompt(facts, qa.Question) : qa.Question));
            chat.Add(new(ChatRole.Assistant, qa.Answer));
        }
        return chat;
    }

    /// A training batch rendered through the chat template: ids, labels (answers only) and mask [B, T],
    /// right-padded to the longest sample.
    public (Tensor Ids, Tensor Labels, Tensor Mask) Batch(long seed, int step, int batchSize, Curriculum curriculum,
                                                          ITokenizer tok, ChatTemplate template, Device device, int turns = 1)
    {
        var chats = Enumerable.Range(0, batchSize).Select(i => template.Render(tok, Conversation(seed, step, i, curriculum, turns))).ToList();
        int t = chats.Max(c => c.Ids.Length);
        var ids = new long[batchSize * t]; var labels = new long[batchSize * t]; var mask = new long[batchSize * t];
        Array.Fill(ids, tok.PadId); Array.Fill(labels, Labels.Ignore);
        for (int b = 0; b < batchSize; b++)
        {
            chats[b].Ids.CopyTo(ids, b * t); chats[b].Labels.CopyTo(labels, b * t);
            Array.Fill(mask, 1L, b * t, chats[b].Ids.Length);
        }
        return (tensor(ids, [batchSize, t], device: device), tensor(labels, [batchSize, t], device: device), tensor(mask, [batchSize, t], device: device));
    }
}
