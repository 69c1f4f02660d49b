using OlaVlm.Core;
using OlaVlm.Data;
using OlaVlm.Eval;
using OlaVlm.Foundation;
using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaCheck.Commands;

/// The text oracle's replies beside the truth for the default profile's (shipped) foundation; --tf adds teacher-forced
/// look-up accuracy, --nocache regenerates each reply without the KV cache (the two must agree).
public static class Oracle
{
    public static readonly Command Command = new("oracle", "[N=12] [BATCH=32] [--tf] [--nocache]",
        "the text oracle on N benchmark items: prompt, reply, answer", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("oracle", args, flags: ["--tf", "--nocache"]);
        int n = a.PositionalInt(0, 12), batch = a.PositionalInt(1, 32);
        var world = MiniWorld.Build(new WorldConfig(), log: Console.WriteLine);
        using var m = FoundationModels.LoadOrTrain(world, new FoundationConfig(), Devices.Default, Console.WriteLine);
        var items = CvBench.Load(world.BenchJsonl);
        var pick = Enumerable.Range(0, n).Select(i => items[i * items.Count / n]).ToList();
        var form = m.Config.SceneForm;
        var prompts = TextOracle.Prompts(world, form, pick);
        var replies = TextOracle.Answer(m.Llm, m.Tokenizer, m.Template, prompts, 48, batch);
        for (int i = 0; i < n; i++) Console.WriteLine($"--- {pick[i].Task} answer {pick[i].Answer}\n{prompts[i]}\n>>> {replies[i]}");
        if (a.Flag("--tf"))
            foreach (var split in new[] { "pt", "bench" })
            {
                var tf = TextOracle.TeacherForced(m.Llm, m.Tokenizer, m.Template, SceneQaData.FromWorld(world, form, split));
                Console.WriteLine($"{split} scenes, teacher-forced: the fact after a key {tf.AfterKey:P1} of {tf.AfterKeyTokens}, other answer tokens {tf.Other:P1} of {tf.OtherTokens}");
            }
        if (a.Flag("--nocache"))
            foreach (var p in prompts)
            {
                var ids = m.Template.Render(m.Tokenizer, [new ChatTurn(ChatRole.User, p.Text)], addGenerationPrompt: true).Ids;
                using var t = tensor(ids, [1, ids.Length]);
                m.Llm.eval();
                using var e = ObjectTokens.Embed(m.Llm, m.Tokenizer, t, [p.Objects]);
                var o = Generation.Generate(m.Llm, null, e, null, new GenerationOptions(48, StopTokenId: m.Template.StopId(m.Tokenizer), UseCache: false));
                Console.WriteLine($"no cache >>> {m.Tokenizer.Decode(o[0])}");
            }
        return 0;
    }
}
