namespace OlaVlm.World;

/// When a training run switches from one-hop grounding questions to the benchmark's comparisons.
/// Phase 1 (steps < OneHopSteps): one-hop questions only (Grounding). Phase 2: benchmark questions with
/// reasoned answers (Rationale), keeping OneHopShare of one-hop questions so the look-ups stay sharp.
/// DescribeShare of samples, in both phases, ask for the whole scene (the PT caption).
/// Measured: the schedule's effect: one-hop first broke the plateau that two-object questions sit on.
public sealed record Curriculum(int OneHopSteps, double OneHopShare = 0.2, double DescribeShare = 0.05)
{
    /// No curriculum: benchmark questions from the first step (the ablation).
    public static Curriculum None => new(0, 0.0, 0.0);

    public bool IsOneHopPhase(int step) => step < OneHopSteps;
}

/// One question about a scene with its reasoned answer; Task is null for one-hop and describe samples.
public sealed record SceneQuestion(string Question, string Answer, BenchTask? Task, string Kind);

/// Draws the world's grounded questions from scene object lists (no pixels needed): one-hop look-ups, the
/// benchmark's four tasks in CV-Bench's multiple-choice form with reasoned answers, and whole-scene
/// descriptions. Draws are a pure function of the Rng, so a (seed, step, index) triple fixes a sample.
public static class SceneQa
{
    public const string DescribePrompt = "Describe the image.";

    /// A shell Scene (object list only) for the question generators, which read boxes, depths and positions.
    public static Scene Shell(string id, IReadOnlyList<SceneObject> objects, int imageSize) =>
        new() { Id = id, Seed = 0, Width = imageSize, Height = imageSize, Objects = objects, Rgb = [], Depth = [], Seg = [], Instance = [] };

    /// A sample for `step` under `curriculum`.
    public static SceneQuestion Sample(Scene scene, Curriculum curriculum, int step, Rng rng)
    {
        var facts = SceneText.Facts(scene.Objects, scene.Width);
        double u = rng.NextDouble();
        if (u < curriculum.DescribeShare) return new(DescribePrompt, SceneText.Describe(facts), null, "describe");
        bool oneHop = curriculum.IsOneHopPhase(step) || rng.NextDouble() < curriculum.OneHopShare;
        if (!oneHop && Benchmark(scene, facts, (BenchTask)rng.Next(4), rng) is { } mc) return mc;
        var (q, a) = Grounding.Sample(facts, rng);
        return new(q, a, null, "one-hop");
    }

    /// A benchmark-style question of `task` with shuffled choices and its reasoned answer, or null when the
    /// scene has none whose grid facts decide the exact answer.
    public static SceneQuestion? Benchmark(Scene scene, IReadOnlyList<ObjectFacts> facts, BenchTask task, Rng rng)
    {
        for (int tries = 0; tries < 10; tries++)
        {
            var q = Questions.Sample(task, scene, rng);
            if (q is null) return null;
            var choices = q.Choices.ToList();
            rng.Shuffle(choices);
            if (Rationale.Answer(q, choices, facts) is { } answer)
                return new(Questions.Prompt(q.Question, choices), answer, task, task.ToString());
        }
        return null;
    }
}
