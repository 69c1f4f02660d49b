using OlaVlm.Training;

namespace OlaVlm.Tests.Training;

public class ProgressTests
{
    [Fact]
    public void RedirectedOutputGetsALineEveryTenPercent()
    {
        var w = new StringWriter();
        var p = new ConsoleProgress(w, inPlace: false);
        p.Start(50, "pt");
        for (int i = 1; i <= 50; i++) p.Report(i, $"loss {i}");
        p.Finish("ok");
        var lines = w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1 + 10 + 1, lines.Length);
        Assert.StartsWith("pt 5/50 loss 5", lines[1]);
        Assert.DoesNotContain('\r', w.ToString());
    }

    [Fact]
    public void TerminalOutputRewritesOneLine()
    {
        var w = new StringWriter();
        var p = new ConsoleProgress(w, inPlace: true);
        p.Start(3, "ift");
        for (int i = 1; i <= 3; i++) p.Report(i, "loss 1.0 emb 0.5");
        p.Finish("ok");
        var text = w.ToString();
        Assert.StartsWith("\rift 1/3 loss 1.0 emb 0.5", text);
        Assert.Equal(1, text.Count(c => c == '\n'));
    }
}
