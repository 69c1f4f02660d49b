using OlaVlm.Core;
using OlaVlm.Text;

namespace OlaVlm.Tests.Text;

public class TextTests
{
    static readonly string[] Corpus = ["A red square is left of the blue circle.", "How many circles? Two circles.", "the the the"];

    [Fact]
    public void WordTokenizerIsDeterministicAndRoundTrips()
    {
        var a = WordTokenizer.Build(Corpus);
        var b = WordTokenizer.Build(Corpus.Reverse());
        Assert.Equal(a.Vocabulary, b.Vocabulary);
        Assert.Equal(WordTokenizer.Specials, a.Vocabulary.Take(5));
        Assert.Equal("the", a.Vocabulary[5]);                 // most frequent word first
        var ids = a.Encode("How many circles? <image>\nTwo.");
        Assert.Contains(a.ImageId, ids);
        Assert.Equal("how many circles? two.", a.Decode(ids));
        Assert.Equal(a.UnkId, a.Encode("zebra")[0]);
        Assert.Equal(a.EosId, a.SpecialId("<eos>"));
    }

    [Fact]
    public void WordTokenizerSavesAndLoads()
    {
        var tok = WordTokenizer.Build(Corpus);
        var path = Path.Combine(Paths.OutDir("tests", "text"), $"tok-{Guid.NewGuid():N}.json");
        tok.Save(path);
        var back = WordTokenizer.Load(path);
        Assert.Equal(tok.Vocabulary, back.Vocabulary);
        File.WriteAllText(path, "{\"vocab\": [\"x\"]}");
        var e = Assert.Throws<InvalidDataException>(() => WordTokenizer.Load(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void ChatTemplateSupervisesOnlyAnswers()
    {
        var tok = WordTokenizer.Build([.. Corpus, "a chat about pictures. user: assistant:"]);
        var t = ChatTemplate.Miniature();
        var r = t.Render(tok, [new(ChatRole.User, "<image>\nhow many circles?"), new(ChatRole.Assistant, "two circles."),
            new(ChatRole.User, "what is left?"), new(ChatRole.Assistant, "a red square.")]);
        Assert.Equal(r.Ids.Length, r.Labels.Length);
        Assert.Equal(tok.BosId, r.Ids[0]);
        var supervised = r.Ids.Where((id, i) => r.Labels[i] != ChatTemplate.Ignore).ToArray();
        var expected = tok.Encode("two circles.").Append(tok.EosId).Concat(tok.Encode("a red square.")).Append(tok.EosId);
        Assert.Equal(expected, supervised);
        Assert.All(r.Labels[..r.SystemLength], l => Assert.Equal(ChatTemplate.Ignore, l));
        Assert.Equal(tok.ImageId, r.Ids[r.SystemLength + tok.Encode("user: ").Length]);

        var prompt = t.Render(tok, [new(ChatRole.User, "how many circles?")], addGenerationPrompt: true);
        Assert.Equal(tok.Encode("assistant:"), prompt.Ids[^2..]);
        Assert.Throws<ArgumentException>(() => t.Render(tok, [new(ChatRole.User, "hi")]));
        Assert.Throws<ArgumentException>(() => t.Render(tok, [new(ChatRole.Assistant, "hi")]));
    }

    [Fact]
    public void LlavaAndLlama3TemplatesRenderTheirHeaders()
    {
        var tok = WordTokenizer.Build(Corpus);
        Assert.Throws<ArgumentException>(() => ChatTemplate.Llama3().StopId(tok));   // word tokenizer has no <|eot_id|>
        Assert.Contains("ASSISTANT:", ChatTemplate.LlavaV1().AssistantPrefix);
        Assert.Equal("<|eot_id|>", ChatTemplate.Llama3().Stop);
    }
}

public class ChoiceMarkerTests
{
    [Fact]
    public void ChoiceMarkersStayOneUpperCaseTokenSoTheReferenceParserReadsThem()
    {
        var tok = OlaVlm.Text.WordTokenizer.Build(["How many cubes? (A) 1 (B) 2", "The answer is (B)."]);
        var ids = tok.Encode("(B) two");
        Assert.Equal(2, ids.Length);                       // "(B)" and "two"... or <unk> for unseen "two"
        Assert.Equal("(B)", tok.Vocabulary[(int)ids[0]]);
        var decoded = tok.Decode(tok.Encode("The answer is (B)."));
        Assert.Equal("the answer is (B).", decoded);
        Assert.Equal('B', OlaVlm.Eval.AnswerParser.Parse(decoded, OlaVlm.Eval.AnswerParsing.Reference));
        // Lower-case "(b)" in text is not a marker: it splits into "(", "b", ")".
        Assert.Equal(3, tok.Encode("(b)").Length);
    }
}
