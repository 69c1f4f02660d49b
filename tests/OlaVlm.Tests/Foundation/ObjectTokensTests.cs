using OlaVlm.Foundation;
using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Foundation;

/// Object tokens (SceneForm.Objects): one position per object whose embedding is the mean of its words'
/// embeddings, the rest of the prompt embedded as usual; bad input is refused with the row and count.
public class ObjectTokensTests
{
    static readonly Lazy<WordTokenizer> Tok = new(() => FoundationFixture.Tokenizer);

    static LlamaForCausalLM Lm()
    {
        manual_seed(3).Dispose();
        return new LlamaForCausalLM(FoundationFixture.Tiny.LlmModelConfig(Tok.Value.VocabSize), CPU);
    }

    static IReadOnlyList<ObjectFacts> Facts() =>
        SceneText.Facts(FoundationFixture.World.Scenes("pt").First(s => s.Objects.Count >= 2).Objects, FoundationFixture.World.Manifest.Config.ImageSize);

    [Fact]
    public void PromptHasOnePlaceholderPerObjectAndShowsItsWords()
    {
        var facts = Facts();
        var p = ScenePrompt.Of(facts, "Where is the red cube?", SceneForm.Objects);
        Assert.Equal(facts.Count, p.Text.Split(ScenePrompt.ObjectToken).Length - 1);
        Assert.Equal(facts.Select(f => f.Entry), p.Objects.Select(o => string.Join(' ', o)));
        Assert.Equal("scene: " + string.Join(" ", facts.Select(f => $"[{f.Entry}]")) + ".\nWhere is the red cube?", p.ToString());
        var w = ScenePrompt.Of(facts, "Where is the red cube?", SceneForm.Words);
        Assert.Empty(w.Objects);
        Assert.Equal(SceneText.Prompt(facts, "Where is the red cube?"), w.Text);
    }

    [Fact]
    public void PlaceholderEmbeddingIsTheMeanOfItsWordsAndOtherTokensAreUnchanged()
    {
        using var lm = Lm();
        var tok = Tok.Value;
        var facts = Facts();
        var p = ScenePrompt.Of(facts, "Where is the red cube?", SceneForm.Objects);
        var ids = tok.Encode(p.Text);
        using var t = tensor(ids, [1, ids.Length]);
        using var e = ObjectTokens.Embed(lm, tok, t, [p.Objects]);
        using var plain = lm.Model.Embed(t);
        long placeholder = ObjectTokens.PlaceholderId(tok);
        int seen = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] != placeholder) { Assert.True(e[0, i].allclose(plain[0, i])); continue; }
            var words = p.Objects[seen++].Select(w => tok.Encode(w).Single()).ToArray();
            using var want = lm.Model.Embed(tensor(words)).mean([0]);
            Assert.True(e[0, i].allclose(want, rtol: 1e-5, atol: 1e-6), $"object {seen - 1}");
            Assert.False(e[0, i].allclose(plain[0, i]));
        }
        Assert.Equal(facts.Count, seen);

        // Gradients reach the rows of the object words (the words keep learning their meaning).
        e.sum().backward();
        var grad = lm.Model.EmbedTokens.weight!.grad!;
        var word = tok.Encode(facts[0].Entry.Split(' ')[^1]).Single();   // the depth fact, only in the object token
        Assert.True(grad[word].abs().sum().item<float>() > 0);
    }

    [Fact]
    public void MismatchedObjectsAndUnknownWordsAreRefused()
    {
        using var lm = Lm();
        var tok = Tok.Value;
        var p = ScenePrompt.Of(Facts(), "Where is the red cube?", SceneForm.Objects);
        var ids = tok.Encode(p.Text);
        using var t = tensor(ids, [1, ids.Length]);
        var fewer = Assert.Throws<ArgumentException>(() => ObjectTokens.Embed(lm, tok, t, [p.Objects.Skip(1).ToList()]));
        Assert.Contains("row 0", fewer.Message);
        var more = Assert.Throws<ArgumentException>(() => ObjectTokens.Embed(lm, tok, t, [p.Objects.Append(["red"]).ToList()]));
        Assert.Contains($"{p.Objects.Count + 1} objects", more.Message);
        var unknown = Assert.Throws<ArgumentException>(() => ObjectTokens.Embed(lm, tok, t, [p.Objects.Take(p.Objects.Count - 1).Append(["zebra"]).ToList()]));
        Assert.Contains("'zebra'", unknown.Message);
        Assert.Throws<ArgumentException>(() => ObjectTokens.Embed(lm, tok, t, []));
        var none = Assert.Throws<ArgumentException>(() => ObjectTokens.Embed(lm, tok, t, [Array.Empty<IReadOnlyList<string>>()]));
        Assert.Contains("no objects", none.Message);
    }

    [Fact]
    public void ReasoningBatchesCarryEachRowsObjects()
    {
        var tok = Tok.Value;
        var data = SceneQaData.FromWorld(FoundationFixture.World, SceneForm.Objects, "pt");
        using var batch = data.Batch(1, 0, 4, new Curriculum(1), tok, ChatTemplate.Miniature(), CPU, turns: 2);
        long placeholder = ObjectTokens.PlaceholderId(tok);
        var ids = batch.Ids.data<long>().ToArray();
        long t = batch.Ids.shape[1];
        for (int r = 0; r < 4; r++)
        {
            Assert.NotEmpty(batch.Objects[r]);
            Assert.Equal(batch.Objects[r].Count, ids.Skip((int)(r * t)).Take((int)t).Count(i => i == placeholder));
        }
        using var lm = Lm();
        using var e = batch.Embed(lm, tok);
        Assert.Equal(new long[] { 4, t, lm.Config.HiddenSize }, e.shape);
    }
}
