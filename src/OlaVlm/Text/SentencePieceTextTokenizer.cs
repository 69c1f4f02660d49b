using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;

namespace OlaVlm.Text;

/// ITokenizer over a Hugging Face SentencePiece directory (tokenizer.model + added tokens), e.g. Phi-3's Llama-2
/// vocabulary with <|user|>, <|assistant|>, <|system|>, <|end|>. Encodes as transformers' slow LlamaTokenizer with
/// legacy = false — what OLA-VLM loads (AutoTokenizer use_fast=False) — does:
///  1. "▁" is put before the text and spaces become "▁" (no other SentencePiece dummy prefix);
///  2. the text is split at added tokens; a token marked rstrip eats the whitespace after it, lstrip before it;
///  3. every other piece is SentencePiece-encoded (byte fallback for characters outside the vocabulary);
///  4. the leading "▁" is dropped when the first token is bos/eos/unk/pad.
/// BOS is never added here (ITokenizer.Encode's contract); AddBos says whether the directory's tokenizer adds it.
/// "<image>" becomes ImageId (LLaVA's −200) and splits the text as LLaVA's tokenizer_image_token does.
public sealed class SentencePieceTextTokenizer : ITokenizer
{
    public const long LlavaImageTokenIndex = -200;
    const char Underline = '\u2581';

    public sealed record AddedToken(string Content, int Id, bool Rstrip = false, bool Lstrip = false);

    private readonly SentencePieceTokenizer sp;
    private readonly IReadOnlyList<AddedToken> added;      // longest first, so the longest match wins
    private readonly HashSet<string> specialNames;

    public SentencePieceTextTokenizer(SentencePieceTokenizer sp, IEnumerable<AddedToken> added, string bos, string eos, string pad,
        string unk = "<unk>", bool addBos = true)
    {
        this.sp = sp;
        this.added = added.OrderByDescending(a => a.Content.Length).ToList();
        specialNames = [bos, eos, pad, unk];
        AddBos = addBos;
        VocabSize = Math.Max(sp.Vocabulary.Count, this.added.Count == 0 ? 0 : this.added.Max(a => a.Id) + 1);
        BosId = SpecialId(bos); EosId = SpecialId(eos); PadId = SpecialId(pad);
    }

    /// Reads tokenizer.model plus tokenizer_config.json (added_tokens_decoder with rstrip/lstrip, add_bos_token,
    /// bos/eos/pad/unk tokens) or, without it, added_tokens.json.
    public static SentencePieceTextTokenizer Load(string dir)
    {
        var model = Path.Combine(dir, "tokenizer.model");
        if (!File.Exists(model)) throw new FileNotFoundException($"SentencePieceTextTokenizer: no tokenizer.model in '{dir}'", model);
        var configPath = Path.Combine(dir, "tokenizer_config.json");
        var config = File.Exists(configPath) ? Core.JsonFile.Object(configPath) : new JsonObject();
        var added = ReadAddedTokens(dir, config, configPath);
        string Name(string key, string fallback) => config[key] switch
        {
            JsonValue v => v.GetValue<string>(),
            JsonObject o => o["content"]?.GetValue<string>() ?? throw new InvalidDataException($"{configPath}: '{key}' has no content"),
            _ => fallback,
        };
        using var stream = File.OpenRead(model);
        var sp = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        var eos = Name("eos_token", "</s>");
        return new SentencePieceTextTokenizer(sp, added, Name("bos_token", "<s>"), eos, Name("pad_token", eos), Name("unk_token", "<unk>"),
            config["add_bos_token"]?.GetValue<bool>() ?? true);
    }

    static List<AddedToken> ReadAddedTokens(string dir, JsonObject config, string configPath)
    {
        if (config["added_tokens_decoder"] is JsonObject decoder)
            return decoder.Select(kv => new AddedToken(
                kv.Value?["content"]?.GetValue<string>() ?? throw new InvalidDataException($"{configPath}: added token {kv.Key} has no content"),
                int.Parse(kv.Key), kv.Value["rstrip"]?.GetValue<bool>() ?? false, kv.Value["lstrip"]?.GetValue<bool>() ?? false)).ToList();
        var json = Path.Combine(dir, "added_tokens.json");
        if (!File.Exists(json)) return [];
        return Core.JsonFile.Object(json).Select(kv => new AddedToken(kv.Key, kv.Value!.GetValue<int>())).ToList();
    }

    public int VocabSize { get; }
    public long BosId { get; }
    public long EosId { get; }
    public long PadId { get; }
    public long ImageId => LlavaImageTokenIndex;
    /// Whether the directory's tokenizer puts BOS first (tokenizer_config add_bos_token, default true).
    public bool AddBos { get; }

    public long[] Encode(string text)
    {
        var ids = new List<long>();
        var chunks = text.Split("<image>");
        for (int i = 0; i < chunks.Length; i++)
        {
            if (i > 0) ids.Add(ImageId);
            if (chunks[i].Length > 0) ids.AddRange(EncodeChunk(chunks[i]));
        }
        return ids.ToArray();
    }

    IEnumerable<long> EncodeChunk(string text)
    {
        var parts = Split(Underline + text.Replace(Underline, ' '));
        var ids = new List<long>();
        foreach (var (piece, token) in parts)
        {
            if (token is not null) { ids.Add(token.Id); continue; }
            if (piece.Length == 0) continue;
            ids.AddRange(sp.EncodeToIds(piece.Replace(' ', Underline), false, false, considerPreTokenization: false, considerNormalization: false).Select(x => (long)x));
        }
        // transformers drops the prefix "▁" only before the tokenizer's own special tokens (bos/eos/unk/pad).
        if (ids.Count > 1 && parts[0].Token is null && parts[0].Piece == Underline.ToString() && parts.Count > 1
            && parts[1].Token is AddedToken first && specialNames.Contains(first.Content))
            ids.RemoveAt(0);
        return ids;
    }

    /// Text → alternating plain pieces and added tokens, with rstrip/lstrip applied to the neighbouring pieces.
    List<(string Piece, AddedToken? Token)> Split(string text)
    {
        var parts = new List<(string Piece, AddedToken? Token)>();
        int start = 0;
        for (int i = 0; i < text.Length;)
        {
            var hit = added.FirstOrDefault(a => string.CompareOrdinal(text, i, a.Content, 0, a.Content.Length) == 0);
            if (hit is null) { i++; continue; }
            parts.Add((text[start..i], null));
            parts.Add((hit.Content, hit));
            i += hit.Content.Length; start = i;
        }
        parts.Add((text[start..], null));
        for (int k = 0; k < parts.Count; k++)
        {
            if (parts[k].Token is not AddedToken t) continue;
            if (t.Rstrip && k + 1 < parts.Count) parts[k + 1] = (parts[k + 1].Piece.TrimStart(), null);
            if (t.Lstrip && k > 0) parts[k - 1] = (parts[k - 1].Piece.TrimEnd(), null);
        }
        return parts;
    }

    public string Decode(IEnumerable<long> ids, bool skipSpecial = true)
    {
        var sb = new System.Text.StringBuilder();
        var run = new List<int>();
        void Flush() { if (run.Count > 0) { sb.Append(sp.Decode(run, considerSpecialTokens: false)); run.Clear(); } }
        foreach (var id in ids)
        {
            var token = added.FirstOrDefault(a => a.Id == id);
            if (id == ImageId || token is not null || id == BosId || id == EosId)
            {
                Flush();
                if (!skipSpecial) sb.Append(id == ImageId ? "<image>" : token?.Content ?? sp.Vocabulary.First(kv => kv.Value == id).Key);
                continue;
            }
            run.Add((int)id);
        }
        Flush();
        return sb.ToString();
    }

    public long SpecialId(string token) =>
        token == "<image>" ? ImageId
        : added.FirstOrDefault(a => a.Content == token) is AddedToken a ? a.Id
        : sp.Vocabulary.TryGetValue(token, out var id) ? id
        : throw new ArgumentException($"SentencePieceTextTokenizer: '{token}' is neither an added token nor in the vocabulary");
}
