using System.Text;
using System.Text.Json;
using OlaVlm.World;

namespace OlaVlm.Data.Layouts;

/// One record of a streamed LLaVA JSON array: its position in the array (0-based) and the line it starts on.
/// Offset and Length: where its JSON element lies in the file, in bytes, so it can be read again on its own.
public sealed record StreamedRecord(int Index, long Line, LlavaRecord Record)
{
    public long Offset { get; init; }
    public int Length { get; init; }
}

/// Reads a LLaVA training JSON (a top-level array of {id, image?, conversations}) one record at a time, so the
/// 1 GB llava_v1_5_mix665k.json never sits in memory: a Utf8JsonReader walks a buffer of the file, each complete
/// element is parsed and validated on its own (LlavaDataset's rules), and only a record larger than the buffer
/// makes the buffer grow. Errors name the file, the record's index, its line and id.
/// Under SkipAndReport a record that breaks LLaVA's rules or holds invalid UTF-8 is skipped and counted; broken
/// JSON syntax always stops, since after it no record boundary can be trusted.
public static class LlavaJsonStream
{
    /// The largest record accepted; a file with an unclosed record would otherwise be buffered whole.
    public const int MaxRecordBytes = 64 << 20;
    static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    public static IEnumerable<StreamedRecord> Read(string path, MalformedRecordPolicy policy = MalformedRecordPolicy.Throw,
        SkipReport? skips = null, int bufferSize = 1 << 16)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"LLaVA file not found: '{path}'", path);
        return ReadOwned(path, policy, skips, bufferSize);
    }

    static IEnumerable<StreamedRecord> ReadOwned(string path, MalformedRecordPolicy policy, SkipReport? skips, int bufferSize)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        foreach (var r in Read(stream, path, policy, skips, bufferSize)) yield return r;
    }

    /// The same over any stream (`name` is what errors call it). The stream is read forward only, in bufferSize pieces.
    public static IEnumerable<StreamedRecord> Read(Stream stream, string name, MalformedRecordPolicy policy = MalformedRecordPolicy.Throw,
        SkipReport? skips = null, int bufferSize = 1 << 16)
    {
        if (policy == MalformedRecordPolicy.SkipAndReport && skips is null)
            throw new ArgumentException("LlavaJsonStream: SkipAndReport needs a SkipReport to count what it leaves out", nameof(skips));
        return ReadCore(stream, name, policy, skips, bufferSize);
    }

    static IEnumerable<StreamedRecord> ReadCore(Stream stream, string name, MalformedRecordPolicy policy, SkipReport? skips, int bufferSize)
    {
        var buf = new byte[Math.Max(bufferSize, 16)];
        int len = 0, index = 0, counted = 0;
        long line = 1, bufStart = 0;   // bufStart: the stream offset of buf[0]
        bool eof = false, first = true;
        var scanner = new ArrayScanner(name);
        var found = new List<(int Start, int End)>();
        while (true)
        {
            while (!eof && len < buf.Length) { int n = stream.Read(buf, len, buf.Length - len); if (n == 0) eof = true; else len += n; }
            if (first && len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF)
            {
                Buffer.BlockCopy(buf, 3, buf, 0, len - 3);   // a UTF-8 byte-order mark, which Utf8JsonReader rejects
                len -= 3;
                bufStart = 3;
            }
            first = false;
            found.Clear();
            int consumed = scanner.Scan(buf.AsSpan(0, len), found, index);
            foreach (var (start, end) in found)
            {
                line += buf.AsSpan(counted, start - counted).Count((byte)'\n');
                counted = start;
                var (record, id, error) = ParseElement(buf.AsSpan(start, end - start), line);
                if (error is null) yield return new StreamedRecord(index, line, record!) { Offset = bufStart + start, Length = end - start };
                else if (policy == MalformedRecordPolicy.SkipAndReport) skips!.Add(index, id, $"line {line}: {error}");
                else throw new LlavaFormatException($"'{name}' record {index} (line {line}{(id is null ? "" : $", id {id}")}): {error}");
                index++;
            }
            if (eof) { scanner.Finish(); yield break; }
            if (consumed == 0 && len == buf.Length)
            {
                if (buf.Length >= MaxRecordBytes)
                    throw new LlavaFormatException($"'{name}' record {index} (line {line}): larger than {MaxRecordBytes >> 20} MB, or never closed");
                Array.Resize(ref buf, buf.Length * 2);
                continue;
            }
            line += buf.AsSpan(counted, consumed - counted).Count((byte)'\n');
            Buffer.BlockCopy(buf, consumed, buf, 0, len - consumed);
            len -= consumed;
            bufStart += consumed;
            counted = 0;
        }
    }

    /// One complete element: strict UTF-8 first (System.Text.Json would otherwise fail later, far from here),
    /// then LlavaDataset's record rules.
    static (LlavaRecord? Record, string? Id, string? Error) ParseElement(ReadOnlySpan<byte> bytes, long line)
    {
        try { StrictUtf8.GetCharCount(bytes); }
        catch (DecoderFallbackException e)
        {
            int at = Math.Max(0, e.Index);
            return (null, null, $"invalid UTF-8 at line {line + bytes[..Math.Min(at, bytes.Length)].Count((byte)'\n')}");
        }
        using var doc = JsonDocument.Parse(bytes.ToArray());
        string? id = null;
        try { return (LlavaDataset.Parse(doc.RootElement, out id), id, null); }
        catch (LlavaFormatException e) { return (null, id, e.Message); }
    }

    /// Finds complete top-level elements of one JSON array across buffer refills; the reader state carries over.
    sealed class ArrayScanner(string name)
    {
        enum Phase { BeforeArray, InArray, AfterArray }
        Phase phase;
        JsonReaderState state = new(new JsonReaderOptions { AllowMultipleValues = true });

        /// Adds [start, end) of each complete element in `data` to `found`; returns the bytes fully consumed.
        /// Never a final block, and several top-level values allowed: so an empty or cut-off file and content after
        /// the array reach Finish / the AfterArray check, which say so plainly, instead of a generic reader error.
        public int Scan(ReadOnlySpan<byte> data, List<(int, int)> found, int index)
        {
            var reader = new Utf8JsonReader(data, isFinalBlock: false, state);
            try
            {
                while (true)
                {
                    var before = reader.CurrentState;
                    long beforeConsumed = reader.BytesConsumed;
                    if (!reader.Read()) break;
                    if (phase == Phase.AfterArray) throw new LlavaFormatException($"'{name}': content after the closing ']' of the record array");
                    if (phase == Phase.BeforeArray)
                    {
                        if (reader.TokenType != JsonTokenType.StartArray)
                            throw new LlavaFormatException($"'{name}': expected a JSON array of records, got {reader.TokenType}");
                        phase = Phase.InArray;
                        continue;
                    }
                    if (reader.TokenType == JsonTokenType.EndArray) { phase = Phase.AfterArray; continue; }
                    int start = (int)reader.TokenStartIndex;
                    if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip())
                    {
                        state = before;   // the element is incomplete: resume before it once more bytes are in
                        return (int)beforeConsumed;
                    }
                    found.Add((start, (int)reader.BytesConsumed));
                }
            }
            catch (JsonException e)
            {
                throw new LlavaFormatException($"'{name}' record {index + found.Count} (line {e.LineNumber + 1}): not valid JSON ({e.Message})");
            }
            state = reader.CurrentState;
            return (int)reader.BytesConsumed;
        }

        public void Finish()
        {
            if (phase == Phase.BeforeArray) throw new LlavaFormatException($"'{name}': empty file, expected a JSON array of records");
            if (phase == Phase.InArray) throw new LlavaFormatException($"'{name}': the file ends before the closing ']' of the record array");
        }
    }
}
