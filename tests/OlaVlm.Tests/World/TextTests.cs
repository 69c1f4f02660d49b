using System.Text.RegularExpressions;
using OlaVlm.World;

namespace OlaVlm.Tests.World;

public class TextTests
{
    static readonly WorldConfig Cfg = new();

    static IEnumerable<Scene> Scenes(int n)
    {
        var g = new SceneGenerator(Cfg);
        for (int i = 0; i < n; i++) yield return g.Generate((ulong)(5000 + i), $"t{i}");
    }

    [Fact]
    public void CaptionsNameEveryObjectLeftToRight()
    {
        foreach (var s in Scenes(60))
        {
            var rec = Captions.Record(s, "img.png", new Rng(s.Seed));
            Assert.StartsWith("<image>\n", rec.Conversations[0].Value);
            var caption = rec.Conversations[1].Value;
            var mentioned = Regex.Matches(caption, @"(small|large) (\w+) (cube|sphere|cylinder|cone)").Select(m => m.Value).ToList();
            var expected = s.Objects.OrderBy(o => o.Box.X0 + o.Box.X1)
                .Select(o => $"{(o.Size == SizeKind.Small ? "small" : "large")} {o.Color} {o.Shape.ToString().ToLowerInvariant()}").ToList();
            Assert.Equal(expected, mentioned);
        }
    }

    [Fact]
    public void EveryInstructionAnswerReDerivedFromTheObjectListAgrees()
    {
        int turns = 0, mc = 0;
        foreach (var s in Scenes(150))
        {
            var rec = Instructions.Conversation(s, "img.png", new Rng(s.Seed));
            Assert.Single(Regex.Matches(string.Concat(rec.Conversations.Select(t => t.Value)), "<image>"));
            for (int i = 0; i < rec.Conversations.Count; i += 2)
            {
                var q = rec.Conversations[i].Value.Replace("<image>\n", "");
                var a = rec.Conversations[i + 1].Value;
                var expected = Expected(q, s.Objects, ref mc);
                if (expected != null) { Assert.True(expected == a, $"{s.Id}: '{q}' answered '{a}', expected '{expected}'"); turns++; }
            }
        }
        Assert.True(turns > 300 && mc > 50, $"only {turns} turns ({mc} multiple choice) were checked");
    }

    [Fact]
    public void TextOnlyConversationsAreAnsweredByTheirOwnText()
    {
        foreach (var s in Scenes(80))
        {
            var rec = Instructions.TextOnly(s, "x", new Rng(s.Seed));
            Assert.Null(rec.Image);
            var (q, a) = (rec.Conversations[0].Value, rec.Conversations[1].Value);
            Assert.DoesNotContain("<image>", q);
            if (q.EndsWith("How many objects are there?"))
                Assert.Equal($"{Regex.Matches(q, @"(\d+) \w+").Sum(m => int.Parse(m.Groups[1].Value))}.", a);
            else if (Regex.Match(q, @"^The (\w+ \w+) is to the (left|right) of the (\w+ \w+)\.") is { Success: true } m)
                Assert.Equal(m.Groups[2].Value == "left" ? "Right." : "Left.", a);
            else
            {
                var d = Regex.Match(q, @"^The (\w+ \w+) is (\d+) metres .* the (\w+ \w+) is (\d+) metres");
                Assert.True(d.Success, q);
                Assert.Equal($"The {(int.Parse(d.Groups[2].Value) < int.Parse(d.Groups[4].Value) ? d.Groups[1].Value : d.Groups[3].Value)}.", a);
            }
        }
    }

    /// The answer a turn must have, recomputed here from the objects; null for free descriptions.
    static string? Expected(string q, IReadOnlyList<SceneObject> objs, ref int mc)
    {
        string Name(SceneObject o) => $"{o.Color} {o.Shape.ToString().ToLowerInvariant()}";
        var prompt = q.Split("\n(A) ");
        if (prompt.Length == 2)
        {
            var question = prompt[0].Replace(" Select from the following choices.", "");
            var choices = Regex.Matches(q, @"\n\([A-Z]\) ([^\n]+)").Select(m => m.Groups[1].Value).ToList();
            string task = question.StartsWith("How many") ? "Count" : question.StartsWith("Considering") ? "Relation"
                        : question.StartsWith("Which object is closer to the camera") ? "Depth" : "Distance";
            var item = new CvBenchItem(0, "2D", task, null, question, choices, "(A)", q, "x", "s");
            mc++;
            return $"({(char)('A' + choices.IndexOf(Rederive.Answer(Cfg, item, objs)))})";
        }
        Match m;
        if (q == "How many objects are in the image?") return $"{objs.Count}.";
        if ((m = Regex.Match(q, @"^How many (\w+)s are in the image\?$")).Success)
            return $"{objs.Count(o => o.Shape.ToString().ToLowerInvariant() == m.Groups[1].Value)}.";
        if ((m = Regex.Match(q, @"^What colour is the (\w+)\?$")).Success)
        {
            var c = objs.Single(o => o.Shape.ToString().ToLowerInvariant() == m.Groups[1].Value).Color;
            return char.ToUpper(c[0]) + c[1..] + ".";
        }
        if ((m = Regex.Match(q, @"^What shape is the (\w+) object\?$")).Success)
            return $"A {objs.Single(o => o.Color == m.Groups[1].Value).Shape.ToString().ToLowerInvariant()}.";
        if (q.StartsWith("Describe")) return null;
        if ((m = Regex.Match(q, @"^What size is the (\w+ \w+)\?$")).Success)
            return objs.Single(o => Name(o) == m.Groups[1].Value).HalfExtent > 0.45 ? "Large." : "Small.";
        if ((m = Regex.Match(q, @"^Is the (\w+ \w+) (to the left or to the right of|above or below) the (\w+ \w+)\?$")).Success)
        {
            var (a, b) = (objs.Single(o => Name(o) == m.Groups[1].Value), objs.Single(o => Name(o) == m.Groups[3].Value));
            return m.Groups[2].Value.StartsWith("to")
                ? (a.Box.X0 + a.Box.X1 < b.Box.X0 + b.Box.X1 ? "Left." : "Right.")
                : (a.Box.Y0 + a.Box.Y1 < b.Box.Y0 + b.Box.Y1 ? "Above." : "Below.");
        }
        foreach (var task in new[] { "Depth", "Distance" })
        {
            if (!(task == "Depth" ? q.StartsWith("Which object is closer to the camera") : q.StartsWith("Estimate"))) continue;
            var item = new CvBenchItem(0, "3D", task, null, q, objs.Select(Name).ToList(), "(A)", q, "x", "s");
            return $"The {Rederive.Answer(Cfg, item, objs)}.";
        }
        throw new InvalidOperationException($"unknown question: {q}");
    }
}
