using System.Text;

namespace OlaVlm.Core;

/// Text files read as UTF-8 that must be UTF-8: invalid bytes are an error naming the file, the line and the byte,
/// never a silent U+FFFD (.NET's default decoding replaces them, so a damaged label would read as another one).
public static class StrictText
{
    static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// Throws InvalidDataException naming `file`, the line and the offset of the first invalid UTF-8 sequence.
    public static void CheckUtf8(ReadOnlySpan<byte> bytes, string file)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return;
        int offset = FirstInvalid(bytes);
        int line = 1;
        for (int i = 0; i < offset; i++) if (bytes[i] == (byte)'\n') line++;
        throw new InvalidDataException($"'{file}' line {line}: invalid UTF-8 (byte 0x{bytes[offset]:X2} at offset {offset}); " +
                                       "the file is damaged or not UTF-8 text");
    }

    /// The whole file as text, after CheckUtf8 (a leading byte-order mark is dropped).
    public static string ReadAllText(string path)
    {
        var bytes = File.ReadAllBytes(path);
        CheckUtf8(bytes, path);
        var span = bytes.AsSpan();
        if (span.StartsWith(Encoding.UTF8.Preamble)) span = span[3..];
        return Utf8.GetString(span);
    }

    /// Every line of the file (without its terminator), after CheckUtf8: a JSONL reader's input.
    public static IReadOnlyList<string> ReadLines(string path)
    {
        var lines = ReadAllText(path).Split('\n').Select(l => l.EndsWith('\r') ? l[..^1] : l).ToList();
        if (lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);   // the text after the last newline
        return lines;
    }

    static int FirstInvalid(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            var status = System.Text.Rune.DecodeFromUtf8(bytes[i..], out _, out int consumed);
            if (status != System.Buffers.OperationStatus.Done) return i;
            i += consumed;
        }
        return bytes.Length - 1;
    }
}
