using OlaVlm.Data;
using OlaVlm.Model;
using OlaVlm.Ola;
using OlaVlm.Text;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Eval;

/// A trained arm answering the benchmark, as CV-Bench is answered: one greedy reply per item.
public static class BenchmarkAnswers
{
    /// Greedy answers to benchmark items: "<image>\n" + prompt in the chat template with the generation
    /// prompt, the item's image, decoding until the template's stop token.
    public static List<string> Greedy(OlaVlmModel model, ITokenizer tok, ChatTemplate template, string benchJsonl, IReadOnlyList<CvBenchItem> items,
                                      int maxNewTokens, int batchSize, Device device)
    {
        using var bank = ImageBank.Load(items.Select(i => i.Filename).Distinct(), k => CvBench.ImagePath(benchJsonl, items.First(i => i.Filename == k)));
        var opts = new GenerationOptions(MaxNewTokens: maxNewTokens, StopTokenId: template.StopId(tok), PadTokenId: tok.PadId);
        var answers = new List<string>(items.Count);
        model.eval();
        for (int start = 0; start < items.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var part = items.Skip(start).Take(batchSize).ToList();
            var prompts = part.Select(it => template.Render(tok, [new ChatTurn(ChatRole.User, "<image>\n" + it.Prompt)], addGenerationPrompt: true).Ids).ToList();
            var pixels = bank.Pixels(part.Select(it => bank.Row(it.Filename)).ToList(), device);
            foreach (var ids in model.Generate(prompts, pixels, opts)) answers.Add(tok.Decode(ids));
        }
        return answers;
    }
}
