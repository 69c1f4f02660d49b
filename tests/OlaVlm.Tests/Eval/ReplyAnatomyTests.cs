using OlaVlm.Eval;
using OlaVlm.World;

namespace OlaVlm.Tests.Eval;

/// ReplyAnatomy splits a reasoned reply's failure into a wrong conclusion and a wrong letter for a right one.
public class ReplyAnatomyTests
{
    static CvBenchItem Item(string task, string answer, params string[] choices) =>
        new(0, "2D", task, null, "q", choices, answer, "q", "img.png", "test");

    [Theory]
    [InlineData("red c1 r5 x5 d9, blue c6 r4 x12 d13, so left (B)", "left")]
    [InlineData("x, y; red 4, blue 6, so red cube (A)", "red cube")]
    [InlineData("cubes: red, blue; 2, so (C)", "2")]
    [InlineData("cube red 1, sphere blue 1, cube green 2; 2; A 3, B 0, C 2, so (C)", "2")]
    [InlineData("cube red 1, cube green 2; 2; A 3, B 0, C 1, so (C)", "2")]
    [InlineData("cubes: none; 0, so (A)", "0")]
    [InlineData("(A)", null)]
    [InlineData("no letter at all", null)]
    public void ConclusionIsWhatTheReplySaysBeforeItsLetter(string reply, string? conclusion) =>
        Assert.Equal(conclusion, ReplyAnatomy.Conclusion(reply));

    [Fact]
    public void CountsRightConclusionsLettersThatFollowThemAndCorrectAnswers()
    {
        var items = new[]
        {
            Item("Depth", "(B)", "blue sphere", "red cube"),   // right conclusion, right letter
            Item("Depth", "(B)", "blue sphere", "red cube"),   // right conclusion, letter of the other choice
            Item("Depth", "(A)", "blue sphere", "red cube"),   // wrong conclusion, its own letter
            Item("Count", "(C)", "0", "1", "2"),               // right count, right letter
            Item("Count", "(C)", "1", "0", "2"),               // right count, the walk stopped too early
        };
        var replies = new[] { "…, so red cube (B)", "…, so red cube (A)", "…, so red cube (B)", "cube a 1, cube b 2; 2; A 0, B 1, C 2, so (C)", "cube a 1, cube b 2; 2; A 1, B 0, so (B)" };
        var rows = ReplyAnatomy.Of(items, replies).ToDictionary(r => r.Task);
        Assert.Equal(new ReplyAnatomy("Depth", 3, 2, 2, 1), rows["Depth"]);
        Assert.Equal(new ReplyAnatomy("Count", 2, 2, 1, 1), rows["Count"]);
        Assert.Equal(new ReplyAnatomy("Overall", 5, 4, 3, 2), rows["Overall"]);
        Assert.Throws<ArgumentException>(() => ReplyAnatomy.Of(items, replies[..3]));
    }
}
