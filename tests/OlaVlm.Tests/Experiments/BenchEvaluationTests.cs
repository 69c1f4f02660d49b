using System.Text.Json;
using OlaVlm.Eval;
using OlaVlm.Experiments;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace OlaVlm.Tests.Experiments;

public class BenchEvaluationTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "ola-bench-" + Guid.NewGuid().ToString("N"));

    public void Dispose() { if (Directory.Exists(dir)) Directory.Delete(dir, true); }

    // (idx, task, type, source, answer, the scripted reply)
    static readonly (int Idx, string Task, string Type, string Source, string Answer, string Reply)[] Fixture =
    [
        // ADE20K: 1 of 3 correct under reference parsing (lenient: 2 of 3)
        (0, "Count", "2D", "ADE20K", "(A)", "(A)"),
        (1, "Count", "2D", "ADE20K", "(B)", "(b) two"),          // lowercase: reference falls back to '(' → wrong
        (2, "Relation", "2D", "ADE20K", "(C)", "(B)"),
        // COCO: 1 of 1
        (3, "Relation", "2D", "COCO", "(B)", "The answer is (B)."),
        // Omni3D: 1 of 4 (lenient: 2 of 4)
        (4, "Depth", "3D", "Omni3D", "(A)", "A"),                // first-character fallback
        (5, "Depth", "3D", "Omni3D", "(B)", " B"),               // leading space: reference wrong, lenient right
        (6, "Distance", "3D", "Omni3D", "(A)", ""),              // empty reply
        (7, "Distance", "3D", "Omni3D", "(B)", "(A) (B)"),       // first match counts
    ];

    /// A test.jsonl in the real CV-Bench schema with an img/ folder of tiny PNGs.
    string WriteFixture() => WriteFixture(dir);

    internal static string WriteFixture(string dir)
    {
        Directory.CreateDirectory(Path.Combine(dir, "img", "2D", "count"));
        var lines = new List<string>();
        foreach (var f in Fixture)
        {
            var file = $"img/{f.Type}/count/{f.Source.ToLowerInvariant()}_{f.Idx}.png";
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, file))!);
            using (var im = new Image<Rgb24>(12, 10, new Rgb24((byte)(20 * f.Idx), 50, 90))) im.SaveAsPng(Path.Combine(dir, file));
            var question = $"question {f.Idx}?";
            var choices = new[] { "one", "two", "three" };
            lines.Add(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["idx"] = f.Idx, ["type"] = f.Type, ["task"] = f.Task, ["image"] = null, ["question"] = question,
                ["choices"] = choices, ["answer"] = f.Answer,
                ["prompt"] = $"{question} Select from the following choices.\n(A) one\n(B) two\n(C) three",
                ["filename"] = file, ["source"] = f.Source,
            }));
        }
        var path = Path.Combine(dir, "test.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    static string ReplyFor(string prompt)
    {
        var idx = int.Parse(prompt.Split("question ")[1].Split('?')[0]);
        return Fixture.Single(f => f.Idx == idx).Reply;
    }

    [Fact]
    public void RealSchemaFileIsAnsweredWithImagesAndScoredAsCvBench()
    {
        var bench = BenchSet.Load(WriteFixture());
        var model = new ScriptedAnswerer(ReplyFor, imageSize: 8);
        var s = BenchEvaluation.Evaluate(model, bench, BenchConfig.Reference with { BatchSize = 3 });

        Assert.Equal(1.0 / 3, s.BySource["ADE20K"].Accuracy, 1e-12);
        Assert.Equal(1.0, s.BySource["COCO"].Accuracy, 1e-12);
        Assert.Equal(0.25, s.BySource["Omni3D"].Accuracy, 1e-12);
        Assert.Equal((1.0 / 3 + 1.0) / 2, s.Accuracy2D, 1e-12);          // mean of source accuracies, not pooled 2/4
        Assert.Equal(0.25, s.Accuracy3D, 1e-12);
        Assert.Equal(((1.0 / 3 + 1.0) / 2 + 0.25) / 2, s.Overall, 1e-12);
        Assert.Equal(0.5, s.ByTask["Count"].Accuracy, 1e-12);
        Assert.Equal(0.5, s.ByTask["Relation"].Accuracy, 1e-12);
        Assert.Equal(0.5, s.ByTask["Depth"].Accuracy, 1e-12);
        Assert.Equal(0.0, s.ByTask["Distance"].Accuracy, 1e-12);

        // Batches of 3, every prompt with the image placeholder and one resized image per prompt.
        Assert.Equal([3, 3, 2], model.Calls.Select(c => c.Prompts.Count));
        Assert.All(model.Calls, c => Assert.All(c.Prompts, p => Assert.StartsWith("<image>\n", p)));
        Assert.All(model.Calls, c => Assert.Equal(new long[] { c.Prompts.Count, 3, 8, 8 }, c.PixelShape));

        var lenient = BenchEvaluation.Evaluate(model, bench, BenchConfig.Lenient);
        Assert.Equal(2.0 / 3, lenient.BySource["ADE20K"].Accuracy, 1e-12);
        Assert.Equal(0.5, lenient.BySource["Omni3D"].Accuracy, 1e-12);
    }

    [Fact]
    public void BlindRunsSendNoImageAndNoPlaceholder()
    {
        var bench = BenchSet.Load(WriteFixture(), maxItems: 5);
        var model = new ScriptedAnswerer(p => "(A)");
        var s = BenchEvaluation.Evaluate(model, bench, BenchConfig.Reference, blind: true);
        Assert.Equal(5, s.Items.Count);
        Assert.All(model.Calls, c => { Assert.Null(c.PixelShape); Assert.All(c.Prompts, p => Assert.DoesNotContain("<image>", p)); });
        Assert.Equal(2, s.Items.Count(i => i.Correct));   // items 0 and 4 have answer (A)
    }

    [Fact]
    public void RepliesAreCachedPerModelBenchConfigAndBlind()
    {
        var bench = BenchSet.Load(WriteFixture());
        var model = new ScriptedAnswerer(ReplyFor);
        var cache = Path.Combine(dir, "cache");
        var a = BenchEvaluation.Evaluate(model, bench, BenchConfig.Reference, cacheDir: cache);
        int calls = model.Calls.Count;
        var b = BenchEvaluation.Evaluate(model, bench, BenchConfig.Reference, cacheDir: cache);
        Assert.Equal(calls, model.Calls.Count);
        Assert.Equal(a.Overall, b.Overall);
        BenchEvaluation.Evaluate(model, bench, BenchConfig.Reference, blind: true, cacheDir: cache);
        Assert.True(model.Calls.Count > calls);
        // Replies do not depend on the parsing mode: another mode re-scores the cached replies.
        int before = model.Calls.Count;
        var lenient = BenchEvaluation.Evaluate(model, bench, BenchConfig.Lenient, cacheDir: cache);
        Assert.Equal(before, model.Calls.Count);
        Assert.NotEqual(a.Overall, lenient.Overall);
        Assert.NotEqual(BenchEvaluation.CacheFile(cache, model, bench, BenchConfig.Reference, false), BenchEvaluation.CacheFile(cache, model, bench, BenchConfig.Reference with { ImagePrefix = "<image> " }, false));
        Assert.Equal(5.0 / 8, BenchEvaluation.FormattedShare(BenchEvaluation.CachedReplies(model, bench, BenchConfig.Reference, cacheDir: cache)));
    }

    [Fact]
    public void TextPriorLearnsAnswerStatisticsWithoutImages()
    {
        var bench = BenchSet.Load(WriteFixture());
        // Training items where "three" is always right: the prior then picks (C) on every fixture item.
        var train = bench.Items.Select(i => i with { Answer = "(C)", Idx = i.Idx + 100 }).ToList();
        var s = BenchEvaluation.TextPrior(train, bench, BenchConfig.Reference);
        Assert.Equal(bench.Items.Select(i => i.Answer == "(C)"), s.Items.Select(i => i.Correct));
    }

    [Fact]
    public void MissingImageNamesTheFile()
    {
        var path = WriteFixture();
        File.Delete(Path.Combine(dir, "img/3D/count/omni3d_6.png"));
        var e = Assert.ThrowsAny<Exception>(() => BenchEvaluation.Evaluate(new ScriptedAnswerer(ReplyFor), BenchSet.Load(path), BenchConfig.Reference));
        Assert.Contains("omni3d_6.png", e.Message);
    }

    [Fact]
    public void SeedAggregationIsTheTInterval()
    {
        static CvBenchScore Score(params bool[] correct) => CvBenchScorer.Score(correct.Select((c, i) =>
            new CvBenchAnswer($"{i}", i % 2 == 0 ? "Count" : "Depth", i % 2 == 0 ? "COCO" : "Omni3D", "(A)", c ? "(A)" : "(B)")));
        var seeds = new[] { Score(true, true, false, true), Score(true, false, false, true), Score(false, true, true, true) };
        var rows = BenchEvaluation.Aggregate("m", seeds);
        foreach (var name in new[] { "Overall", "2D", "3D", "task/Count", "source/Omni3D" })
        {
            var values = seeds.Select(s => s.Records().Single(r => r.Name == name).Accuracy).ToList();
            var ci = Stats.TInterval(values);
            var row = rows.Single(r => r.Metric == name);
            Assert.Equal(ci.Mean, row.Mean, 1e-12);
            Assert.Equal(ci.HalfWidth, row.HalfWidth, 1e-12);
            Assert.Equal(values, row.Values);
            Assert.Equal(3, row.Seeds);
        }
        Assert.True(double.IsNaN(BenchEvaluation.Aggregate("one", [seeds[0]])[0].HalfWidth));

        var runs = seeds.Select((s, i) => new BenchRun("m", 2 - i, s)).ToList();   // out of seed order
        var grouped = BenchEvaluation.Aggregate(runs);
        Assert.Equal(rows.Single(r => r.Metric == "Overall").Mean, grouped.Single(r => r.Metric == "Overall").Mean, 1e-12);
        Assert.Contains("error_y", OlaVlm.Notebook.PlotlyHtml.StandalonePage(ResultCharts.GroupedBars("t", rows.Concat(BenchEvaluation.Aggregate("n", seeds)), ["Overall", "2D", "3D"]), "t"));
    }
}
