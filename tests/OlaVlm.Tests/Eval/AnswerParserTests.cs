using OlaVlm.Eval;

namespace OlaVlm.Tests.Eval;

public class AnswerParserTests
{
    [Theory]
    [InlineData("(B) two", 'B', 'B')]
    [InlineData("B", 'B', 'B')]
    [InlineData(" b", ' ', 'B')]                 // reference: first raw char; lenient: trimmed + upper
    [InlineData("The answer is (C).", 'C', 'C')]
    [InlineData("(a)", '(', 'A')]                // regex is upper-case only in the reference
    [InlineData("c", 'c', 'C')]
    [InlineData("(D) or (A)", 'D', 'D')]         // first match wins
    [InlineData("Answer: (E", 'A', 'A')]         // "(" without a match: first character, no stale answer
    public void ParsesLikeTheReferenceOrLeniently(string reply, char reference, char lenient)
    {
        Assert.Equal(reference, AnswerParser.Parse(reply));
        Assert.Equal(lenient, AnswerParser.Parse(reply, AnswerParsing.Lenient));
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public void EmptyRepliesParseToNull(string? reply)
    {
        Assert.Null(AnswerParser.Parse(reply));
        Assert.Null(AnswerParser.Parse(reply, AnswerParsing.Lenient));
        Assert.Null(AnswerParser.Parse("   ", AnswerParsing.Lenient));
    }

    [Fact]
    public void GroundTruthMustLookLikeParenthesisedLetter()
    {
        Assert.Equal('A', AnswerParser.ParseGroundTruth("(A)", "x"));
        var e = Assert.Throws<FormatException>(() => AnswerParser.ParseGroundTruth("A", "item 7"));
        Assert.Contains("item 7", e.Message);
    }
}
