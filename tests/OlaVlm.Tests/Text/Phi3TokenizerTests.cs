using OlaVlm.Core;
using OlaVlm.Model;
using OlaVlm.Text;
using Xunit.Abstractions;

namespace OlaVlm.Tests.Text;

/// Phi-3's tokenizer: the Llama-2 SentencePiece model (Fixtures/Llm/phi3_tokenizer/tokenizer.model, SHA-256
/// 9e556afd…d347, from karpathy/llama2.c) with Phi-3-mini's added tokens and their rstrip flags in
/// tokenizer_config.json, and OLA-VLM's conv_llava_phi_3 template.
public class Phi3TokenizerTests(ITestOutputHelper output)
{
    static readonly string Dir = Path.Combine(Paths.RepoRoot, "tests", "OlaVlm.Tests", "Fixtures", "Llm", "phi3_tokenizer");
    const long Bos = 1, Underline = 29871, System = 32006, End = 32007, User = 32010, Assistant = 32001, Newline = 13;

    [Fact]
    public void AddedTokensEatTheNewlineAfterThemAsTransformersSlowTokenizerDoes()
    {
        var tok = SentencePieceTextTokenizer.Load(Dir);
        Assert.True(tok.AddBos);
        Assert.Equal((Bos, 32000L, 32000L), (tok.BosId, tok.EosId, tok.PadId));
        Assert.Equal(32011, tok.VocabSize);
        Assert.Equal(End, tok.SpecialId("<|end|>"));

        // "▁" goes before the text; <|system|> is no bos/eos/unk/pad token, so that lone "▁" stays; rstrip drops "\n".
        var ids = tok.Encode("<|system|>\nHello world<|end|>\n<|user|>\n");
        Assert.Equal(new[] { Underline, System }, ids[..2]);
        Assert.Equal(new[] { End, User }, ids[^2..]);
        Assert.DoesNotContain(Newline, ids);   // <0x0A>
        Assert.Equal("Hello world", tok.Decode(ids));
        // Plain text keeps its word-initial "▁" pieces; a newline not after an added token is a byte token.
        var plain = tok.Encode("Hello world\nbye");
        Assert.Contains(Newline, plain);
        Assert.Equal("Hello world\nbye", tok.Decode(plain));
        Assert.Equal(new[] { tok.ImageId }, tok.Encode("<image>"));
    }

    [Fact]
    public void Phi3TemplatePutsTheReferencesThirteenSystemTokensBeforeTheImage()
    {
        var tok = SentencePieceTextTokenizer.Load(Dir);
        var chat = ChatTemplate.Phi3().Render(tok, [new(ChatRole.User, "<image>\nWhat is on the table?"), new(ChatRole.Assistant, "Two cups.")]);
        int image = Array.IndexOf(chat.Ids, tok.ImageId);
        output.WriteLine($"ids before <image>: {string.Join(" ", chat.Ids[..image])}");
        // OLA-VLM's ola_phi3.py: NUM_SYS_TOKENS = 13, the tokens of "<s>" + "<|system|>\nYou are a helpful AI
        // assistant.<|end|>\n<|user|>\n" (its [sys | img | task tokens | txt] layout starts the image there).
        Assert.Equal(13, image);
        Assert.Equal(new[] { Bos, Underline, System }, chat.Ids[..3]);
        Assert.Equal(new[] { End, User }, chat.Ids[(image - 2)..image]);
        Assert.Equal(12, chat.SystemLength);   // BOS … <|end|>; the user header follows

        // Only the answer and its <|end|> are supervised; the assistant header ate its newline.
        var supervised = chat.Ids.Where((id, i) => chat.Labels[i] != ChatTemplate.Ignore).ToArray();
        Assert.Equal(End, supervised[^1]);
        Assert.Equal("Two cups.", tok.Decode(supervised));
        Assert.Equal(Assistant, chat.Ids[^(supervised.Length + 1)]);
        Assert.Equal(End, ChatTemplate.Phi3().StopId(tok));

        var prompt = ChatTemplate.Phi3().Render(tok, [new(ChatRole.User, "<image>\nWhat is on the table?")], addGenerationPrompt: true);
        Assert.Equal(Assistant, prompt.Ids[^1]);
        Assert.Equal(chat.Ids[..prompt.Ids.Length], prompt.Ids);
    }
}
