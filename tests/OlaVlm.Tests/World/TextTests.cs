using System.Text.RegularExpressions;
using OlaVlm.World;

namespace OlaVlm.Tests.World;

/// The world's grounded text (captions, one-hop questions, reasoned benchmark answers, the text-oracle prompt),
/// checked against facts recomputed here from the raw object lists.
public class TextTests
{
    static readonly WorldConfig Cfg = new();

    static IEnumerable<Scene> Scenes(int n)
    {
        var g = new SceneGenerator(Cfg);
        for (int i = 0; i < n; i++) yield return g.Generate((ulong)(5000 + i), $"t{i}");
    }

    /// "red c1 r5 x5 d9", computed independently of ObjectFacts from box, position and depth.
    static Dictionary<string, string> Spans(Scene s)
    {
        var d = new Dictionary<string, string>();
        foreach (var o in s.Objects)
        {
            int col = Math.Clamp((int)((o.Box.X0 + o.Box.X1) / 2.0 * 8 / s.Width), 0, 7);
            int row = Math.Clamp((int)((o.Box.Y0 + o.Box.Y1) / 2.0 * 8 / s.Height), 0, 7);
            string key = s.Objects.Count(x => x.Color == o.Color) == 1 ? o.Color : o.Name;
            d[o.Name] = $"{key} c{col} r{row} x{(int)Math.Round(o.Position.X / 0.5) + 8} d{(int)Math.Round(o.Depth / 0.5)}";
        }
        return d;
    }

    [Fact]
    public void DefaultWorldGivesEveryObjectOfASceneItsOwnColour()
    {
        foreach (var s in Scenes(200))
            Assert.Equal(s.Objects.Count, s.Objects.Select(o => o.Color).Distinct().Count());
    }

    [Fact]
    public void CaptionsDescribeEveryObjectLeftToRightWithItsFacts()
    {
        foreach (var s in Scenes(60))
        {
            var rec = Captions.Record(s, "img.png");
            Assert.Equal("<image>\n" + SceneQa.DescribePrompt, rec.Conversations[0].Value);
            var spans = Spans(s);
            var expected = string.Join("; ", s.Objects.OrderBy(o => o.Box.X0 + o.Box.X1).ThenBy(o => o.Box.Y0 + o.Box.Y1)
                .Select(o => $"{Shapes.Name(o.Shape)} {spans[o.Name]}")) + ".";
            Assert.Equal(expected, rec.Conversations[1].Value);
        }
    }

    [Fact]
    public void EveryInstructionAnswerReDerivedFromTheObjectListAgrees()
    {
        int oneHop = 0, mc = 0;
        var tasks = new HashSet<string>();
        foreach (var s in Scenes(150))
        {
            var rec = Instructions.Conversation(s, "img.png", new Rng(s.Seed), oneHopPool: false, Cfg);
            Assert.Single(Regex.Matches(string.Concat(rec.Conversations.Select(t => t.Value)), "<image>"));
            var spans = Spans(s);
            for (int i = 0; i < rec.Conversations.Count; i += 2)
            {
                var q = rec.Conversations[i].Value.Replace("<image>\n", "");
                var a = rec.Conversations[i + 1].Value;
                if (q.Contains("\n(A) ") && !q.StartsWith("Which choice is ")) { CheckMultipleChoice(q, a, s, spans, tasks); mc++; }
                else if (CheckOneHop(q, a, s, spans)) oneHop++;
            }
        }
        Assert.True(oneHop > 100 && mc > 200, $"only {oneHop} one-hop and {mc} multiple-choice turns were checked");
        Assert.Equal(4, tasks.Count);
    }

    [Fact]
    public void TheOneHopPoolAsksOnlyOneHopQuestions()
    {
        int checkedTurns = 0;
        foreach (var s in Scenes(80))
        {
            var rec = Instructions.Conversation(s, "img.png", new Rng(s.Seed), oneHopPool: true, Cfg);
            var spans = Spans(s);
            for (int i = 0; i < rec.Conversations.Count; i += 2)
            {
                var q = rec.Conversations[i].Value.Replace("<image>\n", "");
                // No benchmark question: the only choices a one-hop turn shows are the numbers of "Which choice is N?".
                if (!q.StartsWith("Which choice is ")) { Assert.DoesNotContain("(A)", q); Assert.DoesNotContain("(A)", rec.Conversations[i + 1].Value); }
                if (CheckOneHop(q, rec.Conversations[i + 1].Value, s, spans)) checkedTurns++;
            }
        }
        Assert.True(checkedTurns > 150, $"only {checkedTurns} one-hop turns were checked");
    }

    [Fact]
    public void TextOnlyConversationsStateTheSceneInWordsBeforeTheQuestion()
    {
        foreach (var s in Scenes(80))
        {
            var rec = Instructions.TextOnly(s, "x", new Rng(s.Seed), oneHopPool: false, Cfg);
            Assert.Null(rec.Image);
            var q = rec.Conversations[0].Value;
            Assert.DoesNotContain("<image>", q);
            Assert.StartsWith("scene: " + Captions.Record(s, "i").Conversations[1].Value + "\n", q);
        }
    }

    [Fact]
    public void ReasonedAnswersContainNoChoiceLetterBeforeTheLastOne()
    {
        foreach (var s in Scenes(100))
            foreach (var t in Enum.GetValues<BenchTask>())
                if (SceneQa.Benchmark(s, SceneText.Facts(s.Objects, s.Width), t, new Rng(s.Seed + (ulong)t)) is { } qa)
                {
                    var letters = Regex.Matches(qa.Answer, @"\([A-Z]\)");
                    Assert.Single(letters);
                    Assert.EndsWith(letters[0].Value, qa.Answer);
                }
    }

    [Fact]
    public void CountAnswersWalkEveryObjectWithARunningTallyThenTheChoices()
    {
        int n = 0;
        foreach (var s in Scenes(100))
        {
            var facts = SceneText.Facts(s.Objects, s.Width);
            if (SceneQa.Benchmark(s, facts, BenchTask.Count, new Rng(s.Seed)) is not { } qa) continue;
            var shape = Regex.Match(qa.Question, @"^How many (\w+)s are").Groups[1].Value;
            var walk = qa.Answer.Split("; ")[0].Split(", ");
            Assert.Equal(facts.Count, walk.Length); // every object once, none repeated or dropped
            int tally = 0;
            for (int i = 0; i < facts.Count; i++)
            {
                if (Shapes.Name(facts[i].Shape) == shape) tally++;
                Assert.Equal($"{Shapes.Name(facts[i].Shape)} {facts[i].Key} {tally}", walk[i]);
            }
            Assert.Equal($"{tally}", qa.Answer.Split("; ")[1]);
            // Then the choices in display order up to the count, and its letter.
            var choices = Regex.Matches(qa.Question, @"\n\(([A-Z])\) (\d)").Select(m => (L: m.Groups[1].Value, N: m.Groups[2].Value)).ToList();
            int at = choices.FindIndex(c => c.N == $"{tally}");
            Assert.Equal(string.Join(", ", choices.Take(at + 1).Select(c => $"{c.L} {c.N}")) + $", so ({choices[at].L})", qa.Answer.Split("; ")[2]);
            n++;
        }
        Assert.True(n > 50, $"only {n} count questions were checked");
    }

    [Fact]
    public void EveryReasonedAnswerFitsTheBenchmarksGenerationBudget()
    {
        // A reply cut short before its letter scores as unanswered: the longest rationale (Count with six
        // objects, walking to the fifth choice) plus the stop token must fit ExperimentConfig.MaxNewTokens.
        var tok = OlaVlm.Data.WorldTokenizer.Build(OlaVlm.Text.ChatTemplate.Miniature());
        int longest = 0;
        string worst = "";
        foreach (var s in Scenes(300))
            foreach (var t in Enum.GetValues<BenchTask>())
                if (SceneQa.Benchmark(s, SceneText.Facts(s.Objects, s.Width), t, new Rng(s.Seed + (ulong)t)) is { } qa
                    && tok.Encode(qa.Answer).Length is var n && n > longest) (longest, worst) = (n, qa.Answer);
        Assert.True(longest + 1 <= new OlaVlm.Stages.ExperimentConfig().MaxNewTokens, $"{longest} tokens + stop: {worst}");
        Assert.True(longest > 30, $"the longest answer has only {longest} tokens: {worst}");
    }

    [Fact]
    public void DistanceAnswersListTheCandidatesInTheOrderOfTheChoices()
    {
        int n = 0;
        foreach (var s in Scenes(150))
        {
            var facts = SceneText.Facts(s.Objects, s.Width);
            if (SceneQa.Benchmark(s, facts, BenchTask.Distance, new Rng(s.Seed)) is not { } qa) continue;
            var choices = Regex.Matches(qa.Question, @"\n\([A-Z]\) ([^\n]+)").Select(m => SceneText.Find(facts, m.Groups[1].Value)).ToList();
            // "anchor span, (A)'s span, (B)'s span; (A)'s key d, (B)'s key d, so name (X)": (A) when its distance is smaller.
            var parts = Regex.Match(qa.Answer, @"; (\w+) (\d+), (\w+) (\d+), so ([\w ]+) \(([AB])\)$");
            Assert.True(parts.Success, qa.Answer);
            Assert.Equal(choices[0].Key, parts.Groups[1].Value);
            Assert.Equal(choices[1].Key, parts.Groups[3].Value);
            Assert.Contains($", {choices[0].Span}, {choices[1].Span};", qa.Answer);
            bool first = int.Parse(parts.Groups[2].Value) < int.Parse(parts.Groups[4].Value);
            Assert.Equal(first ? "A" : "B", parts.Groups[6].Value);
            Assert.Equal(choices[first ? 0 : 1].Name, parts.Groups[5].Value);
            n++;
        }
        Assert.True(n > 30, $"only {n} distance questions were checked");
    }

    /// One-hop turns: returns false for describe turns (checked by the caption test's format).
    static bool CheckOneHop(string q, string a, Scene s, Dictionary<string, string> spans)
    {
        if (q == SceneQa.DescribePrompt) { Assert.Equal(Captions.Describe(s), a); return false; }
        Match m;
        if ((m = Regex.Match(q, @"^Where is the (\w+ \w+)\?$")).Success) Assert.Equal(spans[m.Groups[1].Value], a);
        else if ((m = Regex.Match(q, @"^Is the (\w+ \w+) (in the left or the right half|in the upper or the lower half|near or far)")).Success)
        {
            var o = s.Objects.Single(x => x.Name == m.Groups[1].Value);
            var facts = spans[o.Name].Split(' ');
            string word = m.Groups[2].Value switch
            {
                "in the left or the right half" => int.Parse(facts[^4][1..]) < 4 ? "left" : "right",
                "in the upper or the lower half" => int.Parse(facts[^3][1..]) < 4 ? "upper" : "lower",
                _ => int.Parse(facts[^1][1..]) <= 12 ? "near" : "far",
            };
            Assert.Equal($"{spans[o.Name]}, so {word}", a);
        }
        else if ((m = Regex.Match(q, @"^Where are the (.+) and the (\w+ \w+)\?$")).Success)
        {
            var names = m.Groups[1].Value.Split(", ").Append(m.Groups[2].Value);
            Assert.Equal(string.Join(", ", names.Select(n => spans[n])), a);
        }
        else if ((m = Regex.Match(q, @"^How far is the (\w+ \w+) from the (\w+ \w+)\?$")).Success)
        {
            var (b, o) = (spans[m.Groups[1].Value].Split(' '), spans[m.Groups[2].Value].Split(' '));
            int N(string[] f, int fromEnd) => int.Parse(f[^fromEnd][1..]);
            int dist = (int)Math.Round(Math.Sqrt(Math.Pow(N(o, 2) - N(b, 2), 2) + Math.Pow(N(o, 1) - N(b, 1), 2)));
            Assert.Equal($"{spans[m.Groups[2].Value]}, {spans[m.Groups[1].Value]}; {dist}", a);
        }
        else if ((m = Regex.Match(q, @"^Count the (\w+)s one object at a time\.$")).Success)
        {
            // Every object left to right as "shape key tally", then the count (re-derived from the boxes).
            var shape = m.Groups[1].Value;
            var ordered = s.Objects.OrderBy(o => o.Box.X0 + o.Box.X1).ThenBy(o => o.Box.Y0 + o.Box.Y1).ToList();
            int n = 0;
            var steps = ordered.Select(o => $"{Shapes.Name(o.Shape)} {spans[o.Name].Split(' ')[0]} {(Shapes.Name(o.Shape) == shape ? ++n : n)}");
            Assert.Equal($"{string.Join(", ", steps)}; {ordered.Count(o => Shapes.Name(o.Shape) == shape)}", a);
        }
        else if ((m = Regex.Match(q, @"^Which choice is (\d)\? Select from the following choices\.")).Success)
        {
            // The choices in display order up to the asked number, then its letter.
            var choices = Regex.Matches(q, @"\n\(([A-Z])\) (\d)").Select(c => $"{c.Groups[1].Value} {c.Groups[2].Value}").ToList();
            int at = choices.FindIndex(c => c.EndsWith(" " + m.Groups[1].Value));
            Assert.Equal(5, choices.Count);
            Assert.Equal(string.Join(", ", choices.Take(at + 1)) + $", so ({choices[at][0]})", a);
        }
        else if ((m = Regex.Match(q, @"^What shape is the (\w+) object\?$")).Success)
            Assert.Equal(s.Objects.Single(o => o.Color == m.Groups[1].Value).Name, a);
        else throw new InvalidOperationException($"unknown one-hop question: {q}");
        return true;
    }

    /// Multiple choice: the last "(X)" is the answer re-derived from the raw geometry, and every span the
    /// rationale states is the mentioned object's true span.
    static void CheckMultipleChoice(string q, string a, Scene s, Dictionary<string, string> spans, HashSet<string> tasks)
    {
        var question = q.Split("\n(A) ")[0].Replace(" Select from the following choices.", "");
        var choices = Regex.Matches(q, @"\n\([A-Z]\) ([^\n]+)").Select(m => m.Groups[1].Value).ToList();
        string task = question.StartsWith("How many") ? "Count" : question.StartsWith("Considering") ? "Relation"
                    : question.StartsWith("Which object is closer to the camera") ? "Depth" : "Distance";
        tasks.Add(task);
        var item = new CvBenchItem(0, task is "Count" or "Relation" ? "2D" : "3D", task, null, question, choices, "(A)", q, "x", "s");
        var expected = $"({(char)('A' + choices.IndexOf(Rederive.Answer(Cfg, item, s.Objects)))})";
        Assert.True(a.EndsWith(expected), $"{s.Id}: '{q}' answered '{a}', expected it to end with {expected}");
        foreach (var span in spans.Values.Where(sp => a.Contains(sp.Split(' ')[0] + " c")))
            Assert.Contains(span, a);
    }
}
