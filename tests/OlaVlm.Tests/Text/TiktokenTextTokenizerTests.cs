using System.Text;
using OlaVlm.Text;

namespace OlaVlm.Tests.Text;

public class TiktokenTextTokenizerTests
{
    /// A tiny tiktoken vocabulary written by the test: every byte, then merges up to "hello".
    static TiktokenTextTokenizer Tiny()
    {
        var lines = Enumerable.Range(0, 256).Select(b => Convert.ToBase64String([(byte)b]) + " " + b).ToList();
        string[] merges = ["he", "ll", "llo", "hello"];
        for (int i = 0; i < merges.Length; i++) lines.Add(Convert.ToBase64String(Encoding.UTF8.GetBytes(merges[i])) + " " + (256 + i));
        var specials = new Dictionary<string, int> { ["<|bos|>"] = 260, ["<|eos|>"] = 261, ["<|pad|>"] = 262 };
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n"));
        return TiktokenTextTokenizer.FromStream(stream, TiktokenTextTokenizer.Llama3Pattern, specials, "<|bos|>", "<|eos|>", "<|pad|>");
    }

    [Fact]
    public void EncodesBpeMergesAndTheImagePlaceholder()
    {
        var tok = Tiny();
        Assert.Equal(263, tok.VocabSize);
        Assert.Equal(261, tok.EosId);
        Assert.Equal([259L], tok.Encode("hello"));
        var ids = tok.Encode("<image>\nhello world<|eos|>");
        Assert.Equal(TiktokenTextTokenizer.LlavaImageTokenIndex, ids[0]);
        Assert.Equal(tok.EosId, ids[^1]);
        Assert.Equal("<image>\nhello world<|eos|>", tok.Decode(ids, skipSpecial: false));
        Assert.Equal("\nhello world", tok.Decode(ids));
        Assert.Throws<ArgumentException>(() => tok.SpecialId("<|nope|>"));
    }
}
