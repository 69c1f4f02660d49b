using OlaVlm.Text;
using OlaVlm.World;

namespace OlaVlm.Data;

/// The miniature LLM's word-level vocabulary, built from everything the world says (captions,
/// instructions, benchmark prompts and choices) plus the chat template's own words, and saved beside
/// the world so every model trained on that world shares one id space.
public static class WorldTokenizer
{
    public static WordTokenizer BuildOrLoad(WorldData world, ChatTemplate template)
    {
        var path = Path.Combine(world.Root, $"tokenizer-{template.Name}-v{WordTokenizer.Scheme}.json");
        if (File.Exists(path)) return WordTokenizer.Load(path);
        var corpus = new List<string> { template.System, template.UserPrefix, template.UserSuffix, template.AssistantPrefix };
        foreach (var json in new[] { world.PtJson, world.IftJson, world.ValJson })
            foreach (var r in LlavaDataset.Load(json).Records)
                corpus.AddRange(r.Conversations.Select(t => t.Value));
        foreach (var it in CvBench.Load(world.BenchJsonl))
        {
            corpus.Add(it.Prompt);
            corpus.AddRange(it.Choices);
            corpus.Add(it.Answer);
        }
        var tok = WordTokenizer.Build(corpus);
        var tmp = path + ".tmp";
        tok.Save(tmp);
        File.Move(tmp, path, overwrite: true);
        return tok;
    }
}
