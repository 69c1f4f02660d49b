using OlaVlm.Data;
using OlaVlm.Eval;
using OlaVlm.Model;
using OlaVlm.Text;
using OlaVlm.Training;
using static TorchSharp.torch;

namespace OlaVlm.Foundation;

/// Validation figures of the mini LLM.
public sealed record LlmReport(long Tokens, double MeanNll, double Perplexity, int VocabSize, double TrainSeconds)
{
    public override string ToString() => $"val perplexity {Perplexity:F2} over {Tokens:N0} tokens (uniform guess: {VocabSize})";
}

/// The text oracle's score when the foundation was trained: the LLM answering benchmark items from the
/// scene in words (Eval.TextOracle). Accuracy over items and per task, in [0, 1].
public sealed record OracleReport(int Items, double Accuracy, IReadOnlyDictionary<string, double> Tasks, double Seconds)
{
    public override string ToString() =>
        $"text oracle {Accuracy:P1} on {Items} items ({string.Join(", ", Tasks.Select(t => $"{t.Key} {t.Value:P0}"))})";
}

/// The miniature LLM: a Llama decoder pre-trained from scratch by next-token prediction on world text.
public static class MiniLlm
{
    /// resume: go on from runDir's last checkpoint (an interrupted foundation training), bit for bit as if uninterrupted.
    public static IReadOnlyList<StepRecord> Train(LlamaForCausalLM lm, TextCorpus corpus, FoundationConfig f, string runDir, Device device,
                                                  bool resume = false)
    {
        var cfg = new TrainConfig
        {
            Steps = f.LlmSteps, BatchSize = f.LlmBatch, LearningRate = f.LlmLr, WeightDecay = f.WeightDecay,
            WarmupRatio = 0.05, Seed = f.Seed, LogEvery = f.LogEvery, OutputDir = runDir, KeepCheckpoints = 1,
        };
        var groups = ParamGroups.Build(lm, cfg, noDecay: ParamGroups.IsEmbedding);
        using var trainer = new Trainer(lm, groups, cfg, (step, _) =>
        {
            var ids = corpus.RandomWindows(f.Seed, step, f.LlmBatch, f.LlmSeqLen, device);
            using var output = lm.forward(ids);
            return new LossParts(LlamaForCausalLM.CausalLmLoss(output.Logits, ids));
        }) { Title = "mini LLM" };
        if (resume) trainer.Resume();
        return trainer.Run();
    }

    /// The reasoning phase: questions about scenes given in words, answers supervised only,
    /// with the curriculum — one-hop look-ups for ReasoningOneHopSteps, then the benchmark's comparisons
    /// with ReasoningOneHopShare one-hop questions kept. Fresh samples every step (no epochs to overfit).
    public static IReadOnlyList<StepRecord> TrainReasoning(LlamaForCausalLM lm, SceneQaData data, ITokenizer tok, ChatTemplate template,
                                                           FoundationConfig f, string runDir, Device device, bool resume = false)
    {
        var cfg = new TrainConfig
        {
            Steps = f.ReasoningSteps, BatchSize = f.ReasoningBatch, LearningRate = f.ReasoningLr, WeightDecay = f.WeightDecay,
            WarmupRatio = 0.03, MinLrRatio = 0.1, Seed = f.Seed + 1, LogEvery = f.LogEvery, OutputDir = runDir, KeepCheckpoints = 1,
        };
        var curriculum = new World.Curriculum(f.ReasoningOneHopSteps, f.ReasoningOneHopShare, DescribeShare: 0.05);
        var groups = ParamGroups.Build(lm, cfg, noDecay: ParamGroups.IsEmbedding);
        using var trainer = new Trainer(lm, groups, cfg, (step, _) =>
        {
            using var batch = data.Batch(f.Seed + 1, step, f.ReasoningBatch, curriculum, tok, template, device, f.ReasoningTurns);
            using var output = lm.forward(inputsEmbeds: batch.Embed(lm, tok), attentionMask: batch.Mask);
            return new LossParts(LlamaForCausalLM.CausalLmLoss(output.Logits, batch.Labels));
        }) { Title = "mini LLM reasoning" };
        if (resume) trainer.Resume();
        return trainer.Run();
    }

    /// Summed next-token NLL and the number of predicted tokens over consecutive windows of a corpus.
    public static (double TotalNll, long Tokens) Nll(LlamaForCausalLM lm, TextCorpus corpus, int length, Device device, int? maxWindows = null, int chunk = 32)
    {
        using var noGrad = no_grad();
        bool wasTraining = lm.training;
        lm.eval();
        try
        {
            int n = corpus.WindowCount(length, maxWindows);
            if (n == 0) throw new InvalidOperationException($"MiniLlm: the corpus has {corpus.Tokens.Length} tokens, fewer than one window of {length}");
            double total = 0; long count = 0;
            for (int s = 0; s < n; s += chunk)
            {
                using var scope = NewDisposeScope();
                var ids = corpus.Windows(s, Math.Min(chunk, n - s), length, device);
                using var output = lm.forward(ids);
                total += SummedNll(output.Logits, ids).item<float>();
                count += ids.shape[0] * (length - 1);
            }
            return (total, count);
        }
        finally { if (wasTraining) lm.train(); }
    }

    /// Sum over positions of −log p(token t+1 | tokens ≤ t); Labels.Ignore positions skipped.
    public static Tensor SummedNll(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        long v = logits.shape[^1];
        var l = logits[.., ..^1, ..].reshape(-1, v).to(ScalarType.Float32);
        return nn.functional.cross_entropy(l, labels[.., 1..].reshape(-1), ignore_index: Labels.Ignore, reduction: nn.Reduction.Sum).MoveToOuterDisposeScope();
    }

    public static LlmReport Evaluate(LlamaForCausalLM lm, TextCorpus val, int length, Device device, int? maxWindows = null, double trainSeconds = 0)
    {
        var (nll, tokens) = Nll(lm, val, length, device, maxWindows);
        return new LlmReport(tokens, nll / tokens, Perplexity.FromNll(nll, tokens), lm.Config.VocabSize, trainSeconds);
    }

    /// Greedy continuation of plain text (BOS + text), up to EOS or maxNewTokens.
    public static string Continue(LlamaForCausalLM lm, ITokenizer tok, string text, int maxNewTokens = 24, Device? device = null)
    {
        var ids = new[] { tok.BosId }.Concat(tok.Encode(text)).ToArray();
        return Generate(lm, tok, ids, maxNewTokens, device);
    }

    /// Greedy answer to one user turn rendered through the chat template (text only: no image).
    public static string Answer(LlamaForCausalLM lm, ITokenizer tok, ChatTemplate template, string question, int maxNewTokens = 24, Device? device = null)
    {
        var ids = template.Render(tok, [new ChatTurn(ChatRole.User, question)], addGenerationPrompt: true).Ids;
        return Generate(lm, tok, ids, maxNewTokens, device);
    }

    static string Generate(LlamaForCausalLM lm, ITokenizer tok, long[] prompt, int maxNewTokens, Device? device)
    {
        device ??= lm.parameters().First().device;
        using var ids = tensor(prompt, [1, prompt.Length], device: device);
        bool wasTraining = lm.training;
        lm.eval();
        try
        {
            var output = Generation.Generate(lm, ids, null, null, new GenerationOptions(maxNewTokens, StopTokenId: tok.EosId));
            return tok.Decode(output[0]);
        }
        finally { if (wasTraining) lm.train(); }
    }
}
