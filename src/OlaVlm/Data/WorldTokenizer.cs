using OlaVlm.Text;
using OlaVlm.World;

namespace OlaVlm.Data;

/// The miniature LLM's word-level vocabulary: every word the world's text generators can write (grounded
/// facts, one-hop and benchmark questions, reasoned answers, captions) plus the chat template's own words.
/// Built from a fixed sample of generated scenes, not from a world's files, so it depends only on the
/// generators: worlds that differ in size (the quick and the default profile) share one id space and the
/// shipped foundation models (data/foundation) load in both.
public static class WorldTokenizer
{
    /// Scenes drawn to collect the vocabulary (each gives several questions of every kind).
    const int Scenes = 400;

    public static WordTokenizer Build(ChatTemplate template)
    {
        var corpus = new List<string> { template.System, template.UserPrefix, template.UserSuffix, template.AssistantPrefix };
        corpus.Add(string.Join(" ", SceneText.Words()));
        var config = new WorldConfig();
        var gen = new SceneGenerator(config);
        var oneHop = new Curriculum(int.MaxValue, 1, 0.1);
        var benchmark = new Curriculum(0, 0, 0.1);
        for (int i = 0; i < Scenes; i++)
        {
            var scene = gen.Generate(Rng.Derive(config.Seed, 99, i), $"vocab_{i}");
            var rng = new Rng(Rng.Derive(config.Seed, 98, i));
            var facts = SceneText.Facts(scene.Objects, scene.Width);
            corpus.Add(SceneText.Prompt(facts, SceneQa.DescribePrompt));
            for (int k = 0; k < 8; k++)
                foreach (var c in new[] { oneHop, benchmark })
                {
                    var qa = SceneQa.Sample(scene, c, 0, rng);
                    corpus.Add(qa.Question); corpus.Add(qa.Answer);
                }
            foreach (var task in Enum.GetValues<BenchTask>())
                if (SceneQa.Benchmark(scene, facts, task, rng) is { } q) { corpus.Add(q.Question); corpus.Add(q.Answer); }
        }
        corpus.Add(LlavaRecord.ImageToken);
        corpus.Add(ScenePrompt.ObjectToken);
        return WordTokenizer.Build(corpus);
    }
}
