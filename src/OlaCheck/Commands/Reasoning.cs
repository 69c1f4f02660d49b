using OlaVlm.Foundation;
using OlaVlm.World;

namespace OlaCheck.Commands;

/// The reasoning phase alone (ReasoningRun): a fresh mini LLM with these FoundationConfig overrides trained on scene
/// questions, then its teacher-forced look-ups and the text oracle (how SceneForm and the LLM's shape were chosen).
public static class Reasoning
{
    public static readonly Command Command = new("reasoning",
        "[steps=600] [onehop=600] [items=300] [form=objects|words] [hidden=] [inter=] [layers=] [heads=] [rope=] [batch=] [turns=] [lr=] [threads=]",
        "a fresh mini LLM's reasoning phase with these knobs, then teacher-forced look-ups and the text oracle", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("reasoning", args, settings: ["steps", "onehop", "items", "form", "hidden", "inter", "layers", "heads", "rope", "batch", "turns", "lr", "threads"]);
        var f0 = new FoundationConfig();
        var f = f0 with
        {
            LlmHidden = a.Int("hidden", f0.LlmHidden), LlmIntermediate = a.Int("inter", f0.LlmIntermediate), LlmLayers = a.Int("layers", f0.LlmLayers),
            LlmHeads = a.Int("heads", f0.LlmHeads), LlmKvHeads = a.Int("heads", f0.LlmKvHeads), ReasoningSteps = a.Int("steps", 600),
            ReasoningOneHopSteps = a.Int("onehop", 600), ReasoningBatch = a.Int("batch", f0.ReasoningBatch), ReasoningTurns = a.Int("turns", f0.ReasoningTurns),
            ReasoningLr = a.Double("lr", f0.ReasoningLr), LogEvery = 50, LlmRopeTheta = a.Double("rope", f0.LlmRopeTheta),
            SceneForm = a.Text("form") is string form ? Enum.Parse<SceneForm>(form, ignoreCase: true) : f0.SceneForm,
        };
        if (a.Int("threads") is int threads) TorchSharp.torch.set_num_threads(threads);
        var world = MiniWorld.Build(new WorldConfig(), log: Console.WriteLine);
        var runDir = Path.Combine(Path.GetTempPath(), "ola-reasoning", string.Join("_", args));
        var r = ReasoningRun.Run(world, f, runDir, a.Int("items", 300));
        Console.WriteLine($"trained {f.ReasoningSteps} steps in {r.Seconds:F0} s; losses: " +
                          string.Join(" ", r.Curve.Where((_, i) => i % Math.Max(1, r.Curve.Count / 12) == 0).Select(s => $"{s.Step}:{s.Loss:F3}")));
        foreach (var tf in r.TeacherForced)
            Console.WriteLine($"bench scenes, {tf.Questions} questions, teacher-forced: the fact after a key {tf.AfterKey:P1} of {tf.AfterKeyTokens}, other answer tokens {tf.Other:P1} of {tf.OtherTokens}");
        if (r.Oracle is { } score)
        {
            Console.WriteLine($"text oracle {score.Items.Average(i => i.Correct ? 1.0 : 0.0):P1}: {string.Join(", ", score.ByTask.Select(t => $"{t.Key} {t.Value.Accuracy:P0}"))}");
            foreach (var (task, reply) in r.Replies) Console.WriteLine($"  {task}: {reply}");
        }
        return 0;
    }
}
