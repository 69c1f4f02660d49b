using System.Text.RegularExpressions;
using OlaVlm.World;

namespace OlaVlm.Tests.World;

public class BenchmarkTests
{
    static readonly WorldConfig Cfg = new() { Seed = 99 };
    static readonly Lazy<List<BenchEntry>> Bench = new(() => BenchmarkBuilder.Build(Cfg, 400, MiniWorld.BenchSplit));

    [Fact]
    public void TaskSizesFollowCvBenchProportions()
    {
        Assert.Equal(new Dictionary<BenchTask, int> { [BenchTask.Count] = 788, [BenchTask.Relation] = 650, [BenchTask.Depth] = 600, [BenchTask.Distance] = 600 },
                     BenchmarkBuilder.TaskSizes(2638));
        var s = BenchmarkBuilder.TaskSizes(400);
        Assert.Equal(400, s.Values.Sum());
        foreach (var (task, full) in BenchmarkBuilder.CvBenchProportions)
            Assert.InRange(s[task], Math.Floor(400.0 * full / 2638), Math.Ceiling(400.0 * full / 2638));
        var stats = DatasetStats.Of(Bench.Value.Select(e => e.Item).ToList());
        Assert.Equal(s[BenchTask.Count], stats.PerTask["Count"]);
        Assert.Equal(s[BenchTask.Count] + s[BenchTask.Relation], stats.PerType["2D"]);
    }

    [Fact]
    public void ItemsFollowTheCvBenchSchemaAndLettersAreBalanced()
    {
        var items = Bench.Value.Select(e => e.Item).ToList();
        Assert.Equal(Enumerable.Range(0, items.Count), items.Select(i => i.Idx));
        foreach (var it in items)
        {
            Assert.Equal(it.Question + " Select from the following choices." + string.Concat(it.Choices.Select((c, k) => $"\n({(char)('A' + k)}) {c}")), it.Prompt);
            Assert.Equal(it.Type == "2D" ? "World2D" : "World3D", it.Source);
            Assert.Equal(it.Filename, it.Image);
            Assert.StartsWith($"img/{it.Type}/{it.Task.ToLowerInvariant()}/", it.Filename);
            Assert.Equal(it.Choices.Count, it.Choices.Distinct().Count());
        }
        foreach (var g in items.GroupBy(i => i.Task))
        {
            int n = g.First().Choices.Count;
            var counts = g.GroupBy(i => i.Answer).ToDictionary(x => x.Key, x => x.Count());
            Assert.Equal(n, counts.Count);
            Assert.True(counts.Values.Max() - counts.Values.Min() <= 1, $"{g.Key}: letters {string.Join(",", counts)}");
        }
    }

    [Fact]
    public void AnswersPerQuestionTemplateAreBalanced()
    {
        // Replace object names by a placeholder: what remains is the template, and the template alone must
        // not tell the answer string (count value, relation word) or which mentioned object is right.
        foreach (var g in Bench.Value.Select(e => e.Item).GroupBy(i => (i.Task, Template(i.Question), string.Join("|", i.Choices.Order()))))
        {
            if (g.Key.Task is "Depth" or "Distance") continue;   // choices are object names: checked below
            var answers = g.GroupBy(i => i.Choices[i.AnswerIndex]).Select(x => x.Count()).ToList();
            int kinds = g.First().Choices.Count;
            if (g.Count() >= 2 * kinds) Assert.True(answers.Count == kinds && answers.Max() - answers.Min() <= 1 + g.Count() / 10, $"{g.Key}: {string.Join(",", answers)}");
        }
        foreach (var g in Bench.Value.Select(e => e.Item).Where(i => i.Task is "Depth" or "Distance").GroupBy(i => i.Task))
        {
            int first = g.Count(i => i.Question.Contains($"the {i.Choices[i.AnswerIndex]} or "));
            Assert.InRange(first, g.Count() / 2 - 1, g.Count() / 2 + 1);
        }
    }

    [Fact]
    public void EveryAnswerReDerivedFromTheObjectListAgrees()
    {
        foreach (var e in Bench.Value) Assert.Equal(Rederive.Answer(Cfg, e.Item, e.Scene.Objects), e.Item.Choices[e.Item.AnswerIndex]);
    }

    [Fact]
    public void TextOnlyBaselineScoresAtChance()
    {
        var train = BenchmarkBuilder.Build(Cfg, 400, MiniWorld.BenchTrainSplit).Select(e => e.Item).ToList();
        var test = Bench.Value.Select(e => e.Item).ToList();
        var blind = BlindBaseline.Train(train);
        var predictions = test.Select(blind.Predict).ToList();
        double acc = test.Select((it, i) => predictions[i] == it.Answer ? 1.0 : 0).Average();
        double chance = BlindBaseline.Chance(test);
        // 400 items: one standard error is about 0.025; allow three.
        Assert.InRange(acc, chance - 0.075, chance + 0.075);
        // On its own training split it does better (it memorises exact questions): proof that it learns at all.
        double trainAcc = train.Select(it => blind.Predict(it) == it.Answer ? 1.0 : 0).Average();
        Console.WriteLine($"blind baseline: bench {acc:F3}, train {trainAcc:F3}, chance {chance:F3}");
        Assert.True(trainAcc > chance + 0.1, $"train accuracy {trainAcc:F3}: the baseline learned nothing, so the bench check proves nothing");
    }

    [Fact]
    public void ScoreFollowsTheCvBenchFormula()
    {
        var items = Bench.Value.Select(e => e.Item).ToList();
        var perfect = OlaVlm.Eval.CvBenchScorer.Score(items, items.Select(i => i.Answer + " because").ToList());
        Assert.Equal(1.0, perfect.Overall);
        var only2D = OlaVlm.Eval.CvBenchScorer.Score(items, items.Select(i => i.Type == "2D" ? i.Answer : "Z").ToList());
        Assert.Equal(1.0, only2D.Accuracy2D); Assert.Equal(0.0, only2D.Accuracy3D); Assert.Equal(0.5, only2D.Overall);
    }

    static string Template(string q) => Regex.Replace(q, @"the (\w+) (cube|sphere|cylinder|cone)", "the X");
}

/// Answers recomputed from the object list alone, without the library's Questions class: names parsed out
/// of the question, geometry recomputed here.
static class Rederive
{
    public static string Answer(WorldConfig cfg, CvBenchItem it, IReadOnlyList<SceneObject> objs)
    {
        SceneObject Find(string name) => objs.Single(o => $"{o.Color} {o.Shape.ToString().ToLowerInvariant()}" == name);
        double pitch = cfg.PitchDegrees * Math.PI / 180;
        double Depth(SceneObject o) => (o.Position.Y + o.HalfExtent - cfg.CameraHeight) * -Math.Sin(pitch) + o.Position.Z * Math.Cos(pitch);
        double Dist(SceneObject a, SceneObject b) => Math.Sqrt(Math.Pow(a.Position.X - b.Position.X, 2) + Math.Pow(a.HalfExtent - b.HalfExtent, 2) + Math.Pow(a.Position.Z - b.Position.Z, 2));
        Match m;
        switch (it.Task)
        {
            case "Count":
                m = Regex.Match(it.Question, @"^How many (\w+)s are in the image\?$");
                return objs.Count(o => o.Shape.ToString().ToLowerInvariant() == m.Groups[1].Value).ToString();
            case "Relation":
                m = Regex.Match(it.Question, @"where is the (\w+ \w+) located with respect to the (\w+ \w+)\?$");
                var (a, b) = (Find(m.Groups[1].Value), Find(m.Groups[2].Value));
                return it.Choices.Contains("left")
                    ? (a.Box.X0 + a.Box.X1 < b.Box.X0 + b.Box.X1 ? "left" : "right")
                    : (a.Box.Y0 + a.Box.Y1 < b.Box.Y0 + b.Box.Y1 ? "above" : "below");
            case "Depth":
                m = Regex.Match(it.Question, @"the (\w+ \w+) or the (\w+ \w+)\?$");
                var (p, q) = (Find(m.Groups[1].Value), Find(m.Groups[2].Value));
                return Depth(p) < Depth(q) ? m.Groups[1].Value : m.Groups[2].Value;
            case "Distance":
                m = Regex.Match(it.Question, @"closer to the (\w+ \w+), the (\w+ \w+) or the (\w+ \w+)\?$");
                var (x, y, z) = (Find(m.Groups[1].Value), Find(m.Groups[2].Value), Find(m.Groups[3].Value));
                return Dist(x, y) < Dist(x, z) ? m.Groups[2].Value : m.Groups[3].Value;
            default: throw new InvalidOperationException(it.Task);
        }
    }
}
