using OlaVlm.Model;
using OlaVlm.Text;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Model;

public class MultimodalTests
{
    static readonly WordTokenizer Tok = WordTokenizer.Build(["a red square left of a blue circle.", "what is left of the circle? how many shapes?", "two"]);

    static MultimodalSample Sample(string question, string answer) =>
        Render(ChatTemplate.Miniature().Render(Tok, [new(ChatRole.User, question), new(ChatRole.Assistant, answer)]));

    static MultimodalSample Render(RenderedChat r) => new(r.Ids, r.Labels);

    [Fact]
    public void SegmentSpansAndLabelsWithTaskTokensAndTextOnlySamples()
    {
        using var scope = NewDisposeScope();
        var lm = Tiny.Lm(vocab: Tok.VocabSize);
        var withImage = Sample("<image>\nwhat is left of the circle?", "a red square.");
        var textOnly = Sample("how many shapes?", "two");
        var feats = randn(1, 16, 32);                      // one image, 16 patches
        var task = randn(3, 32);                           // 3 task tokens
        using var batch = MultimodalCollator.Assemble(lm, [withImage, textOnly], feats, Tok.ImageId, task);

        int sys = Array.IndexOf(withImage.InputIds, Tok.ImageId);
        int n0 = withImage.InputIds.Length - 1 + 16 + 3;
        Assert.Equal(new[] { n0, textOnly.InputIds.Length }.Max(), (int)batch.Length);
        var s0 = batch.Spans[0];
        Assert.True(s0.HasImage);
        Assert.Equal(new Span(0, sys), s0.System);
        Assert.Equal(new Span(sys, sys + 16), s0.Image);
        Assert.Equal(new Span(sys + 16, sys + 19), s0.TaskTokens);
        Assert.Equal(new Span(sys + 19, n0), s0.Text);
        var s1 = batch.Spans[1];
        Assert.False(s1.HasImage);
        Assert.True(s1.Image.IsEmpty && s1.TaskTokens.IsEmpty);
        Assert.Equal(new Span(0, textOnly.InputIds.Length), s1.Text);

        // Embeddings sit where the spans say; labels are Ignore outside answers.
        Assert.True(Tiny.MaxDiff(batch.InputsEmbeds[0, sys..(sys + 16)], feats[0]) == 0);
        Assert.True(Tiny.MaxDiff(batch.InputsEmbeds[0, (sys + 16)..(sys + 19)], task) == 0);
        var labels = batch.Labels[0].data<long>().ToArray();
        Assert.All(labels[..(sys + 19)], l => Assert.Equal(Labels.Ignore, l));
        var answer = Tok.Encode("a red square.").Append(Tok.EosId).ToArray();
        Assert.Equal(answer, labels[(n0 - answer.Length)..n0]);
        Assert.Equal(n0 - answer.Length, labels.Count(l => l == Labels.Ignore) - (int)(batch.Length - n0));
        // Text-only row: padding is masked and ignored.
        var mask1 = batch.AttentionMask[1].data<long>().ToArray();
        Assert.Equal(textOnly.InputIds.Length, (int)mask1.Sum());
        Assert.All(batch.Labels[1].data<long>().ToArray()[textOnly.InputIds.Length..], l => Assert.Equal(Labels.Ignore, l));
    }

    [Fact]
    public void LeftPaddingShiftsSpansAndKeepsLogits()
    {
        using var scope = NewDisposeScope();
        var lm = Tiny.Lm(vocab: Tok.VocabSize);
        var a = Sample("<image>\nhow many shapes?", "two");
        var b = Sample("what is left of the circle?", "a red square left of a blue circle.");
        var feats = randn(1, 16, 32);
        using var _ = no_grad();
        using var right = MultimodalCollator.Assemble(lm, [a, b], feats, Tok.ImageId);
        using var left = MultimodalCollator.Assemble(lm, [a, b], feats, Tok.ImageId, padding: PaddingSide.Left);
        using var alone = MultimodalCollator.Assemble(lm, [a], feats, Tok.ImageId);
        var n = alone.Spans[0].Tokens.Length;
        var off = left.Spans[0].Tokens.Start;
        Assert.Equal(right.Spans[0].Image.Start + off, left.Spans[0].Image.Start);
        var ref0 = lm.forward(inputsEmbeds: alone.InputsEmbeds).Logits[0];
        var l = lm.forward(inputsEmbeds: left.InputsEmbeds, attentionMask: left.AttentionMask, positionIds: left.PositionIds).Logits;
        var r = lm.forward(inputsEmbeds: right.InputsEmbeds, attentionMask: right.AttentionMask, positionIds: right.PositionIds).Logits;
        Assert.True(Tiny.MaxDiff(ref0, l[0, off..(off + n)]) < 1e-5);
        Assert.True(Tiny.MaxDiff(ref0, r[0, ..n]) < 1e-5);
    }

    [Fact]
    public void BadInputsThrowClearErrors()
    {
        using var scope = NewDisposeScope();
        var lm = Tiny.Lm(vocab: Tok.VocabSize);
        var a = Sample("<image>\nhow many shapes?", "two");
        var e = Assert.Throws<ArgumentException>(() => MultimodalCollator.Assemble(lm, [a], null, Tok.ImageId));
        Assert.Contains("sample 0", e.Message);
        Assert.Throws<ArgumentException>(() => MultimodalCollator.Assemble(lm, [a], randn(2, 16, 32), Tok.ImageId));
    }

    [Fact]
    public void TinyLlavaOverfitsOneBatch()
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        var llava = new LlavaModel(Tiny.Llava(Tok.VocabSize), Tiny.Cpu);
        var samples = new[] { Sample("<image>\nhow many shapes?", "two"), Sample("<image>\nwhat is left of the circle?", "a red square."),
            Sample("how many shapes?", "a blue circle.") };
        var pixels = randn(2, 3, 16, 16);
        var opt = optim.AdamW(llava.parameters().Where(p => p.requires_grad), lr: 5e-3);
        double first = 0, last = 0;
        for (int step = 0; step < 100; step++)
        {
            using var s = NewDisposeScope();
            opt.zero_grad();
            using var batch = llava.Prepare(samples, pixels);
            var loss = llava.Loss(batch);
            loss.backward();
            opt.step();
            last = loss.item<float>();
            if (step == 0) first = last;
        }
        Assert.True(last < 0.05, $"loss {first:F3} → {last:F3}");
        // The trained model answers the first question from its image.
        var prompt = ChatTemplate.Miniature().Render(Tok, [new(ChatRole.User, "<image>\nhow many shapes?")], addGenerationPrompt: true);
        var answer = llava.Generate([prompt.Ids], pixels[..1], new GenerationOptions(MaxNewTokens: 5, StopTokenId: Tok.EosId));
        Assert.Equal("two", Tok.Decode(answer[0]));
    }

    [Fact]
    public void ProjectorOnlyTrainingLeavesTheLlmUnchanged()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var llava = new LlavaModel(Tiny.Llava(Tok.VocabSize), Tiny.Cpu);
        foreach (var p in llava.LanguageModel.parameters()) p.requires_grad = false;
        var before = llava.LanguageModel.parameters().First().clone();
        var opt = optim.AdamW(llava.MmProjector.parameters(), lr: 1e-2);
        using var batch = llava.Prepare([Sample("<image>\nhow many shapes?", "two")], randn(1, 3, 16, 16));
        var loss = llava.Loss(batch);
        loss.backward();
        Assert.NotNull(llava.MmProjector.parameters().First().grad);
        Assert.Null(llava.VisionTower.parameters().First().grad);
        opt.step();
        Assert.True(Tiny.MaxDiff(before, llava.LanguageModel.parameters().First()) == 0);
    }
}
