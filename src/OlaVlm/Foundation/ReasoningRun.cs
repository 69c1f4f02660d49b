using OlaVlm.Data;
using OlaVlm.Eval;
using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.Training;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Foundation;

/// Teacher-forced accuracy of the fact after a key ("red" → "c1") against the other answer tokens.
public sealed record TeacherForcedScore(string Questions, double AfterKey, long AfterKeyTokens, double Other, long OtherTokens);

/// What one reasoning run measured: the training curve, teacher-forced look-ups on the benchmark's scenes, and the
/// text oracle on `Items` benchmark items (with a few replies).
public sealed record ReasoningRunResult(IReadOnlyList<StepRecord> Curve, double Seconds, IReadOnlyList<TeacherForcedScore> TeacherForced,
                                        CvBenchScore? Oracle, IReadOnlyList<(string Task, string Reply)> Replies);

/// The mini LLM's reasoning phase alone, from a fresh LLM with `f`'s sizes: how the LLM's shape and the scene's
/// form (object tokens or words) were chosen. Trains `f.ReasoningSteps` steps on scene questions, then measures.
public static class ReasoningRun
{
    public static ReasoningRunResult Run(WorldData world, FoundationConfig f, string runDir, int items = 300, Device? device = null)
    {
        device ??= Core.Devices.Default;
        var template = ChatTemplate.Miniature();
        var tok = WorldTokenizer.Build(template);
        manual_seed(f.Seed).Dispose();
        using var lm = new LlamaForCausalLM(f.LlmModelConfig(tok.VocabSize) with { BosTokenId = tok.BosId, EosTokenId = tok.EosId }, device);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var curve = MiniLlm.TrainReasoning(lm, SceneQaData.FromWorld(world, f.SceneForm, "pt", "ift"), tok, template, f, runDir, device);
        double seconds = sw.Elapsed.TotalSeconds;

        var benchQa = SceneQaData.FromWorld(world, f.SceneForm, "bench");
        var tf = new[] { ("one-hop", new Curriculum(int.MaxValue, 1, 0)), ("benchmark", new Curriculum(0, 0.2, 0)) }.Select(q =>
        {
            var s = TextOracle.TeacherForced(lm, tok, template, benchQa, curriculum: q.Item2, device: device);
            return new TeacherForcedScore(q.Item1, s.AfterKey, s.AfterKeyTokens, s.Other, s.OtherTokens);
        }).ToList();
        if (items <= 0) return new ReasoningRunResult(curve, seconds, tf, null, []);
        var all = CvBench.Load(world.BenchJsonl);
        var bench = Enumerable.Range(0, items).Select(i => all[i * all.Count / items]).ToList();
        var (score, replies) = TextOracle.Evaluate(lm, tok, template, world, f.SceneForm, bench, device: device);
        var shown = Enumerable.Range(0, 8).Select(i => i * items / 8).Select(i => (bench[i].Task, replies[i])).ToList();
        return new ReasoningRunResult(curve, seconds, tf, score, shown);
    }
}
