using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace OlaVlm.Text;

/// ITokenizer over Microsoft.ML.Tokenizers' byte-level BPE (tiktoken files such as Llama-3's
/// original/tokenizer.model). The image placeholder is not a vocabulary entry: as LLaVA's
/// tokenizer_image_token does, "<image>" in the text becomes ImageId (−200), which the multimodal
/// collator replaces by image features before anything reaches the embedding table.
public sealed class TiktokenTextTokenizer : ITokenizer
{
    public const long LlavaImageTokenIndex = -200;
    private readonly TiktokenTokenizer inner;
    private readonly IReadOnlyDictionary<string, int> specials;

    public TiktokenTextTokenizer(TiktokenTokenizer inner, int baseVocabSize, IReadOnlyDictionary<string, int> specials,
        string bos, string eos, string pad)
    {
        this.inner = inner; this.specials = specials;
        VocabSize = Math.Max(baseVocabSize, specials.Count == 0 ? 0 : specials.Values.Max() + 1);
        BosId = SpecialId(bos); EosId = SpecialId(eos); PadId = SpecialId(pad);
    }

    /// Llama-3's pre-tokenizer pattern (splits contractions, letter runs, 1–3 digit groups, punctuation, spaces).
    public const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// Loads a Llama-3 tiktoken file; the 256 special tokens follow the base vocabulary
    /// (<|begin_of_text|>, <|end_of_text|>, <|start_header_id|>, <|end_header_id|>, <|eot_id|>, reserved ones).
    public static TiktokenTextTokenizer LoadLlama3(string tiktokenPath)
    {
        if (!File.Exists(tiktokenPath)) throw new FileNotFoundException($"TiktokenTextTokenizer: no vocabulary file '{tiktokenPath}'", tiktokenPath);
        int baseSize = File.ReadLines(tiktokenPath).Count(l => l.Trim().Length > 0);
        var names = new List<string> { "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
            "<|reserved_special_token_2|>", "<|reserved_special_token_3|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|reserved_special_token_4|>", "<|eot_id|>" };
        for (int i = 5; names.Count < 256; i++) names.Add($"<|reserved_special_token_{i}|>");
        var specials = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => baseSize + x.i);
        using var stream = File.OpenRead(tiktokenPath);
        return FromStream(stream, Llama3Pattern, specials, "<|begin_of_text|>", "<|eot_id|>", "<|end_of_text|>");
    }

    /// Any tiktoken vocabulary stream with its pre-tokenizer pattern and special tokens.
    public static TiktokenTextTokenizer FromStream(Stream vocab, string pattern, IReadOnlyDictionary<string, int> specials,
        string bos, string eos, string pad)
    {
        var pre = new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), specials);
        using var copy = new MemoryStream();
        vocab.CopyTo(copy);
        int baseSize = System.Text.Encoding.UTF8.GetString(copy.ToArray()).Split('\n').Count(l => l.Trim().Length > 0);
        copy.Position = 0;
        return new TiktokenTextTokenizer(TiktokenTokenizer.Create(copy, pre, null, specials), baseSize, specials, bos, eos, pad);
    }

    public int VocabSize { get; }
    public long BosId { get; }
    public long EosId { get; }
    public long PadId { get; }
    public long ImageId => LlavaImageTokenIndex;

    public long[] Encode(string text)
    {
        var ids = new List<long>();
        var chunks = text.Split("<image>");
        for (int i = 0; i < chunks.Length; i++)
        {
            if (i > 0) ids.Add(ImageId);
            if (chunks[i].Length > 0) ids.AddRange(inner.EncodeToIds(chunks[i]).Select(x => (long)x));
        }
        return ids.ToArray();
    }

    public string Decode(IEnumerable<long> ids, bool skipSpecial = true)
    {
        var sb = new System.Text.StringBuilder();
        var run = new List<int>();
        void Flush() { if (run.Count > 0) { sb.Append(inner.Decode(run)); run.Clear(); } }
        var specialIds = specials.Values.ToHashSet();
        foreach (var id in ids)
        {
            if (id == ImageId) { Flush(); if (!skipSpecial) sb.Append("<image>"); continue; }
            if (skipSpecial && specialIds.Contains((int)id)) continue;
            run.Add((int)id);
        }
        Flush();
        return sb.ToString();
    }

    public long SpecialId(string token) =>
        token == "<image>" ? ImageId
        : specials.TryGetValue(token, out var id) ? id
        : throw new ArgumentException($"TiktokenTextTokenizer: '{token}' is not a special token");
}
