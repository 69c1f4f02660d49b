using System.Text.Json;

namespace OlaVlm.World;

/// What to do with a record that breaks the LLaVA format.
public enum MalformedRecordPolicy
{
    /// Stop with LlavaFormatException naming the file and the record (index and id).
    Throw,
    /// Leave the record out and list it in LlavaDataset.Skipped (never silent: callers report Skipped).
    SkipAndReport,
}

public sealed class LlavaFormatException(string message) : FormatException(message);

/// A record left out under SkipAndReport: where it was and why.
public sealed record SkippedRecord(string File, int Index, string? Id, string Reason);

/// Loads LLaVA training JSON (a top-level array of {id, image?, conversations}) and validates every record:
/// turns alternate human/gpt starting with human, values are strings, an image record carries exactly one
/// "<image>" in its first human turn and a text-only record none at all.
public sealed class LlavaDataset
{
    public string File { get; }
    /// Folder that `image` paths are relative to.
    public string ImageRoot { get; }
    public IReadOnlyList<LlavaRecord> Records { get; }
    public IReadOnlyList<SkippedRecord> Skipped { get; }

    LlavaDataset(string file, string imageRoot, List<LlavaRecord> records, List<SkippedRecord> skipped) =>
        (File, ImageRoot, Records, Skipped) = (file, imageRoot, records, skipped);

    public static LlavaDataset Load(string jsonPath, string? imageRoot = null, MalformedRecordPolicy policy = MalformedRecordPolicy.Throw)
    {
        if (!System.IO.File.Exists(jsonPath)) throw new FileNotFoundException($"LLaVA file not found: '{jsonPath}'", jsonPath);
        imageRoot ??= Path.GetDirectoryName(Path.GetFullPath(jsonPath))!;
        JsonDocument doc;
        var bytes = System.IO.File.ReadAllBytes(jsonPath);
        // Invalid UTF-8 inside a string would only fail when that string is read, with no file or line: check it first.
        try { Core.StrictText.CheckUtf8(bytes, jsonPath); }
        catch (InvalidDataException ex) { throw new LlavaFormatException(ex.Message); }
        try { doc = JsonDocument.Parse(bytes); }
        catch (JsonException ex) { throw new LlavaFormatException($"'{jsonPath}' line {ex.LineNumber + 1}: not valid JSON ({ex.Message})"); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Array)
            throw new LlavaFormatException($"'{jsonPath}': expected a JSON array of records, got {doc.RootElement.ValueKind}");

        var records = new List<LlavaRecord>();
        var skipped = new List<SkippedRecord>();
        int index = 0;
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            string? id = null;
            try
            {
                var record = Parse(e, out id);
                // Under SkipAndReport a record whose image file is missing is left out and counted, like a malformed one.
                if (policy == MalformedRecordPolicy.SkipAndReport && record.Image is { } im && !System.IO.File.Exists(Path.Combine(imageRoot, im)))
                    throw new LlavaFormatException($"image file missing: '{Path.GetFullPath(Path.Combine(imageRoot, im))}'");
                records.Add(record);
            }
            catch (Exception ex) when (ex is LlavaFormatException or InvalidOperationException)
            {
                if (policy == MalformedRecordPolicy.Throw)
                    throw new LlavaFormatException($"'{jsonPath}' record {index}{(id != null ? $" (id {id})" : "")}: {ex.Message}");
                skipped.Add(new SkippedRecord(jsonPath, index, id, ex.Message));
            }
            index++;
        }
        return new LlavaDataset(jsonPath, imageRoot, records, skipped);
    }

    /// The first ⌈fraction · N⌉ records (the world writes them in random order, so a prefix is a random
    /// subset): ExperimentConfig.IftDataFraction. fraction must be in (0, 1].
    public LlavaDataset Fraction(double fraction)
    {
        if (!(fraction > 0 && fraction <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), $"{File}: data fraction {fraction} is not in (0, 1]");
        int n = Math.Max(1, (int)Math.Ceiling(fraction * Records.Count));
        return new LlavaDataset(File, ImageRoot, Records.Take(n).ToList(), Skipped.ToList());
    }

    /// The records `keep` accepts, in their order (`what` names the subset in the error when none is left).
    public LlavaDataset Where(Func<LlavaRecord, bool> keep, string what)
    {
        var kept = Records.Where(keep).ToList();
        if (kept.Count == 0) throw new InvalidDataException($"{File}: no record is {what}");
        return new LlavaDataset(File, ImageRoot, kept, Skipped.ToList());
    }

    /// Absolute path of a record's image (null for text-only records).
    public string? ImagePath(LlavaRecord r) => r.Image == null ? null : Path.GetFullPath(Path.Combine(ImageRoot, r.Image));

    /// Loads a record's image through ImageLoader's limits; a bad image names the record as well as the file.
    public SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24> LoadImage(LlavaRecord r, ImageLimits? limits = null)
    {
        var path = ImagePath(r) ?? throw new InvalidOperationException($"'{File}' record {r.Id} is text-only: it has no image");
        try { return ImageLoader.Load(path, limits); }
        catch (ImageLoadException ex) { throw new ImageLoadException($"'{File}' record {r.Id}: {ex.Message}", ex); }
    }

    /// A dataset from records read elsewhere (Data.Layouts streams the released files record by record).
    public static LlavaDataset FromRecords(string file, string imageRoot, IReadOnlyList<LlavaRecord> records, IReadOnlyList<SkippedRecord> skipped) =>
        new(file, imageRoot, records.ToList(), skipped.ToList());

    /// Validates one record (see the class comment); `id` is set as soon as it is known, for error messages.
    internal static LlavaRecord Parse(JsonElement e, out string? id)
    {
        id = null;
        if (e.ValueKind != JsonValueKind.Object) throw new LlavaFormatException($"expected an object, got {e.ValueKind}");
        if (!e.TryGetProperty("id", out var idEl)) throw new LlavaFormatException("missing 'id'");
        id = idEl.ValueKind switch
        {
            JsonValueKind.String => idEl.GetString(),
            JsonValueKind.Number => idEl.GetRawText(),   // some LLaVA releases use numeric ids
            _ => throw new LlavaFormatException($"'id' must be a string or number, got {idEl.ValueKind}"),
        };
        string? image = null;
        if (e.TryGetProperty("image", out var imEl) && imEl.ValueKind != JsonValueKind.Null)
        {
            if (imEl.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(imEl.GetString()))
                throw new LlavaFormatException("'image' must be a non-empty string");
            image = imEl.GetString();
            if (Path.IsPathRooted(image) || image!.Split('/', '\\').Contains("..")) throw new LlavaFormatException($"'image' must be a relative path inside the image folder, got '{image}'");
        }
        if (!e.TryGetProperty("conversations", out var conv) || conv.ValueKind != JsonValueKind.Array || conv.GetArrayLength() == 0)
            throw new LlavaFormatException("'conversations' must be a non-empty array");
        var turns = new List<Turn>();
        int t = 0, imageTokens = 0;
        foreach (var turn in conv.EnumerateArray())
        {
            if (turn.ValueKind != JsonValueKind.Object) throw new LlavaFormatException($"turn {t} is not an object");
            string? from = turn.TryGetProperty("from", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
            string? value = turn.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            string expected = t % 2 == 0 ? LlavaRecord.Human : LlavaRecord.Gpt;
            if (from != expected) throw new LlavaFormatException($"turn {t}: 'from' must be \"{expected}\", got {(from == null ? "nothing" : $"\"{from}\"")}");
            if (value == null) throw new LlavaFormatException($"turn {t}: 'value' must be a string");
            int n = Count(value, LlavaRecord.ImageToken);
            if (n > 0 && (t != 0 || image == null)) throw new LlavaFormatException($"turn {t}: '{LlavaRecord.ImageToken}' only belongs in the first human turn of an image record");
            imageTokens += n;
            turns.Add(new Turn(from, value));
            t++;
        }
        if (turns.Count % 2 != 0) throw new LlavaFormatException($"{turns.Count} turns: the last human turn has no gpt answer");
        if (image != null && imageTokens != 1) throw new LlavaFormatException($"an image record needs exactly one '{LlavaRecord.ImageToken}', found {imageTokens}");
        return new LlavaRecord(id!, image, turns);
    }

    static int Count(string s, string sub)
    {
        int n = 0;
        for (int i = s.IndexOf(sub, StringComparison.Ordinal); i >= 0; i = s.IndexOf(sub, i + sub.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
