using System.Text.Json;
using System.Text.RegularExpressions;

namespace OlaVlm.Text;

/// The miniature world's tokenizer: lower-case words, numbers and single punctuation marks — except
/// multiple-choice markers "(A)".."(Z)", which stay one upper-case token each, so a model answers in
/// exactly the form CV-Bench's reference parser reads (regex \(([A-Z])\), case-sensitive).
/// Ids 0–4 are <pad> <bos> <eos> <unk> <image>; then words by descending corpus frequency, ties
/// broken by ordinal string order, so the same corpus always gives the same vocabulary.
public sealed partial class WordTokenizer : ITokenizer
{
    public static readonly string[] Specials = ["<pad>", "<bos>", "<eos>", "<unk>", "<image>"];

    /// How text is split; saved with the vocabulary, and part of every cache key built on it (docs/history.md).
    public const int Scheme = 3;
    private readonly string[] vocab;
    private readonly Dictionary<string, long> ids;

    public WordTokenizer(IReadOnlyList<string> vocabulary)
    {
        for (int i = 0; i < Specials.Length; i++)
            if (vocabulary.Count <= i || vocabulary[i] != Specials[i])
                throw new ArgumentException($"WordTokenizer: vocabulary must start with {string.Join(" ", Specials)}");
        vocab = vocabulary.ToArray();
        ids = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < vocab.Length; i++)
            if (!ids.TryAdd(vocab[i], i)) throw new ArgumentException($"WordTokenizer: duplicate token '{vocab[i]}' at id {i}");
    }

    /// Builds a vocabulary from texts; words seen fewer than minCount times map to <unk>.
    public static WordTokenizer Build(IEnumerable<string> corpus, int minCount = 1, int? maxVocab = null)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in corpus)
            foreach (var w in Split(text))
                if (!Specials.Contains(w)) counts[w] = counts.GetValueOrDefault(w) + 1;
        var words = counts.Where(kv => kv.Value >= minCount)
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key);
        if (maxVocab is int max) words = words.Take(Math.Max(0, max - Specials.Length));
        return new WordTokenizer([.. Specials, .. words]);
    }

    public int VocabSize => vocab.Length;
    public long PadId => 0;
    public long BosId => 1;
    public long EosId => 2;
    public long UnkId => 3;
    public long ImageId => 4;
    public IReadOnlyList<string> Vocabulary => vocab;

    public long[] Encode(string text) => Split(text).Select(w => ids.TryGetValue(w, out var id) ? id : UnkId).ToArray();

    public string Decode(IEnumerable<long> tokens, bool skipSpecial = true)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var id in tokens)
        {
            if (id < 0 || id >= vocab.Length) throw new ArgumentOutOfRangeException(nameof(tokens), $"WordTokenizer: id {id} outside vocabulary of {vocab.Length}");
            if (skipSpecial && id != UnkId && id < Specials.Length) continue;
            var w = vocab[id];
            bool glue = w.Length == 1 && !char.IsLetterOrDigit(w[0]) && w != "(";
            if (sb.Length > 0 && !glue && !(sb[^1] == '(')) sb.Append(' ');
            sb.Append(w);
        }
        return sb.ToString();
    }

    public long SpecialId(string token) =>
        Array.IndexOf(Specials, token) is var i and >= 0 ? i : throw new ArgumentException($"WordTokenizer: '{token}' is not a special token");

    /// Yields special tokens, choice markers "(A)" as they are, and otherwise lower-cased runs of
    /// letters/digits and single other non-space characters.
    public static IEnumerable<string> Split(string text) =>
        Pieces().Matches(text).Select(m => m.Value.Length == 3 && m.Value[0] == '(' && m.Value[2] == ')' && char.IsAsciiLetterUpper(m.Value[1])
            ? m.Value : m.Value.ToLowerInvariant());

    [GeneratedRegex(@"<pad>|<bos>|<eos>|<unk>|<image>|<obj>|\([A-Z]\)|[\p{L}\p{Nd}]+|[^\s\p{L}\p{Nd}]")]
    private static partial Regex Pieces();

    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, JsonSerializer.Serialize(new { type = "word", scheme = Scheme, vocab }, new JsonSerializerOptions { WriteIndented = true }));
    }

    public static WordTokenizer Load(string path)
    {
        using var doc = Core.JsonFile.Document(path);
        if (!doc.RootElement.TryGetProperty("vocab", out var v) || v.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: no 'vocab' array");
        int scheme = doc.RootElement.TryGetProperty("scheme", out var sc) ? sc.GetInt32() : 1;
        if (scheme != Scheme)
            throw new InvalidDataException($"{path}: tokenizer split scheme {scheme}, this code uses {Scheme}; delete the file (or its cache folder) to rebuild");
        try { return new WordTokenizer(v.EnumerateArray().Select(e => e.GetString() ?? "").ToList()); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }
}
