using OlaVlm.Eval;

namespace OlaVlm.Tests.Eval;

public class CvBenchScorerTests
{
    static CvBenchAnswer I(int id, string task, string source, string answer, string pred) => new($"{id}", task, source, answer, pred);

    static readonly CvBenchAnswer[] Fixture =
    [
        // COCO: 1 of 2 correct → 0.5
        I(1, "Count", "COCO", "(A)", "(A) 3"),
        I(2, "Relation", "COCO", "(B)", "A"),
        // ADE20K: 3 of 4 correct → 0.75
        I(3, "Count", "ADE20K", "(C)", "C"),
        I(4, "Count", "ADE20K", "(A)", "The answer is (A)."),
        I(5, "Relation", "ADE20K", "(B)", "(B)"),
        I(6, "Relation", "ADE20K", "(A)", ""),
        // Omni3D: 2 of 4 correct → 0.5
        I(7, "Depth", "Omni3D", "(A)", "(A)"),
        I(8, "Depth", "Omni3D", "(B)", "B"),
        I(9, "Distance", "Omni3D", "(A)", "(B)"),
        I(10, "Distance", "Omni3D", "(B)", " b"),   // wrong under reference parsing, right when lenient
    ];

    [Fact]
    public void TwoDIsTheMeanOfSourceAccuraciesAndOverallAveragesTheDimensions()
    {
        var s = CvBenchScorer.Score(Fixture);
        Assert.Equal(0.5, s.BySource["COCO"].Accuracy);
        Assert.Equal(0.75, s.BySource["ADE20K"].Accuracy);
        Assert.Equal(0.5, s.BySource["Omni3D"].Accuracy);
        Assert.Equal(0.625, s.Accuracy2D, 1e-12);          // not the pooled 4/6
        Assert.Equal(0.5, s.Accuracy3D, 1e-12);
        Assert.Equal(0.5625, s.Overall, 1e-12);
        Assert.Equal(1.0, s.ByTask["Count"].Accuracy, 1e-12);
        Assert.Equal(1.0 / 3, s.ByTask["Relation"].Accuracy, 1e-12);
        Assert.Equal(1.0, s.ByTask["Depth"].Accuracy, 1e-12);
        Assert.Equal(0.0, s.ByTask["Distance"].Accuracy, 1e-12);
        Assert.False(s.Items.Single(r => r.Id == "6").Correct);
        Assert.Null(s.Items.Single(r => r.Id == "6").Parsed);

        var lenient = CvBenchScorer.Score(Fixture, AnswerParsing.Lenient);
        Assert.Equal(0.75, lenient.Accuracy3D, 1e-12);

        var rows = s.Records().ToDictionary(r => r.Name);
        Assert.Equal(10, rows["Overall"].Count);
        Assert.Equal(6, rows["2D"].Count);
        Assert.Equal(0.5, rows["source/COCO"].Accuracy);
        Assert.Equal(3, rows["task/Count"].Count);
    }

    [Fact]
    public void UnknownSourceOrBadAnswerNamesTheItem()
    {
        var e = Assert.Throws<ArgumentException>(() => CvBenchScorer.Score([I(42, "Count", "Mars", "(A)", "A")]));
        Assert.Contains("42", e.Message); Assert.Contains("Mars", e.Message);
        var f = Assert.Throws<FormatException>(() => CvBenchScorer.Score([I(43, "Count", "COCO", "A", "A")]));
        Assert.Contains("43", f.Message);
    }

    [Fact]
    public void CustomSourcesAndMissingDimension()
    {
        var s = CvBenchScorer.Score([I(1, "Count", "Synth2D", "(A)", "A")], sources2D: ["Synth2D"], sources3D: ["Synth3D"]);
        Assert.Equal(1.0, s.Accuracy2D);
        Assert.True(double.IsNaN(s.Accuracy3D));
        Assert.True(double.IsNaN(s.Overall));
    }
}
