namespace OlaVlm.World;

/// A benchmark item together with the scene it asks about.
public sealed record BenchEntry(CvBenchItem Item, Scene Scene);

/// Builds the held-out multiple-choice benchmark in CV-Bench's schema.
///
/// Why the balancing: a question must need the image. For every question template the answer is spread
/// evenly (count 0..4 per shape, left/right/above/below, first/second-mentioned object) and the correct letter
/// cycles evenly over the options, so question text alone predicts nothing better than chance.
public static class BenchmarkBuilder
{
    /// CV-Bench's task sizes (of 2,638); other totals keep these proportions.
    public static readonly (BenchTask Task, int Count)[] CvBenchProportions =
        [(BenchTask.Count, 788), (BenchTask.Relation, 650), (BenchTask.Depth, 600), (BenchTask.Distance, 600)];

    public const string Source2D = "World2D", Source3D = "World3D";

    /// Items per task for a total, by largest remainder.
    public static Dictionary<BenchTask, int> TaskSizes(int total)
    {
        int sum = CvBenchProportions.Sum(p => p.Count);
        var exact = CvBenchProportions.Select(p => (p.Task, x: (double)total * p.Count / sum)).ToList();
        var sizes = exact.ToDictionary(e => e.Task, e => (int)Math.Floor(e.x));
        foreach (var e in exact.OrderByDescending(e => e.x - Math.Floor(e.x)).ThenBy(e => e.Task).Take(total - sizes.Values.Sum()))
            sizes[e.Task]++;
        return sizes;
    }

    /// Builds `total` items; every item's scene comes from seeds derived from (config.Seed, splitId, task, j).
    public static List<BenchEntry> Build(WorldConfig config, int total, long splitId)
    {
        var gen = new SceneGenerator(config);
        var plan = new List<(BenchTask Task, int J, int Letter, int Of)>();
        foreach (var (task, m) in TaskSizes(total).OrderBy(kv => kv.Key))
        {
            int nChoices = task == BenchTask.Count ? Questions.CountChoices.Length : 2;
            var letters = Enumerable.Range(0, m).Select(j => j % nChoices).ToList();
            new Rng(Rng.Derive(config.Seed, splitId, (int)task, -1)).Shuffle(letters);
            for (int j = 0; j < m; j++) plan.Add((task, j, letters[j], m));
        }
        var entries = new BenchEntry[plan.Count];
        Parallel.For(0, plan.Count, i =>
        {
            var (task, j, letter, _) = plan[i];
            entries[i] = MakeItem(gen, config.Seed, splitId, i, task, j, letter);
        });
        return entries.ToList();
    }

    static BenchEntry MakeItem(SceneGenerator gen, ulong seed, long splitId, int idx, BenchTask task, int j, int letter)
    {
        string type = Questions.TypeOf(task), taskName = task.ToString();
        string filename = $"img/{type}/{taskName.ToLowerInvariant()}/{idx:D4}.png";
        for (int attempt = 0; attempt < 200; attempt++)
        {
            var rng = new Rng(Rng.Derive(seed, splitId, (int)task, j, attempt));
            ulong sceneSeed = rng.NextULong();
            var q = task switch
            {
                BenchTask.Count => CountItem(gen, sceneSeed, idx, j, out var sc) is { } cq ? (cq, sc) : default,
                _ => PairItem(gen.Generate(sceneSeed, $"bench_{idx:D4}"), task, j, rng),
            };
            if (q.Item1 == null) continue;
            var (question, scene) = q;
            // Put the correct choice at the planned letter, the others in random order around it.
            var others = question.Choices.Where((_, k) => k != question.Answer).ToList();
            rng.Shuffle(others);
            others.Insert(letter, question.AnswerText);
            var item = new CvBenchItem(idx, type, taskName, filename, question.Question, others,
                $"({Questions.Letter(letter)})", Questions.Prompt(question.Question, others), filename,
                type == "2D" ? Source2D : Source3D);
            return new BenchEntry(item, scene);
        }
        throw new InvalidOperationException($"BenchmarkBuilder: no scene for item {idx} ({task}, slot {j}) after 200 attempts");
    }

    // Count: slot j fixes the shape (cycling over shapes) and the true count (cycling 0..4).
    static McQuestion? CountItem(SceneGenerator gen, ulong sceneSeed, int idx, int j, out Scene scene)
    {
        var shape = Shapes.All[j % Shapes.All.Length];
        int count = j / Shapes.All.Length % (Questions.MaxCount + 1);
        scene = gen.Generate(sceneSeed, $"bench_{idx:D4}", (shape, count));
        return Questions.Count(scene, shape);
    }

    // Relation: slot j fixes the answer word; Depth/Distance: slot j fixes whether the first- or
    // second-mentioned object is correct. Any valid pair can be ordered to fit, so few scenes are rejected.
    static (McQuestion?, Scene) PairItem(Scene s, BenchTask task, int j, Rng rng)
    {
        var o = s.Objects;
        var candidates = new List<McQuestion>();
        string want = task == BenchTask.Relation ? new[] { "left", "right", "above", "below" }[j % 4] : j % 2 == 0 ? "first" : "second";
        for (int a = 0; a < o.Count; a++)
        for (int b = 0; b < o.Count; b++)
        {
            if (a == b) continue;
            if (task == BenchTask.Distance)
            {
                for (int x = 0; x < o.Count; x++)
                    if (x != a && x != b && Questions.Distance(s, o[x], o[a], o[b]) is { } dq && dq.BalanceKey == want) candidates.Add(dq);
                continue;
            }
            var q = task switch
            {
                BenchTask.Relation => Questions.Relation(s, o[a], o[b], horizontal: want is "left" or "right"),
                _ => Questions.Depth(s, o[a], o[b]),
            };
            if (q != null && q.BalanceKey == want) candidates.Add(q);
        }
        return (candidates.Count == 0 ? null : rng.Pick(candidates), s);
    }
}
