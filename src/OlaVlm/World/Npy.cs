using System.Text;

namespace OlaVlm.World;

/// Minimal .npy (format 1.0) writer/reader for 2-D float16 arrays, so depth maps open in numpy too.
public static class Npy
{
    static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];

    public static void WriteFloat16(string path, float[] data, int rows, int cols)
    {
        if (data.Length != rows * cols) throw new ArgumentException($"Npy.WriteFloat16 '{path}': {data.Length} values for shape [{rows}, {cols}]");
        var header = $"{{'descr': '<f2', 'fortran_order': False, 'shape': ({rows}, {cols}), }}";
        // Pad so the data starts on a 64-byte boundary, header ends with '\n' (npy spec).
        int total = Magic.Length + 2 + header.Length + 1;
        header += new string(' ', (64 - total % 64) % 64) + "\n";
        var bytes = new byte[Magic.Length + 2 + header.Length + data.Length * 2];
        Magic.CopyTo(bytes, 0);
        BitConverter.TryWriteBytes(bytes.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header, bytes.AsSpan(10));
        int off = 10 + header.Length;
        for (int i = 0; i < data.Length; i++)
            BitConverter.TryWriteBytes(bytes.AsSpan(off + 2 * i), BitConverter.HalfToUInt16Bits((Half)data[i]));
        File.WriteAllBytes(path, bytes);
    }

    public static float[] ReadFloat16(string path, out int rows, out int cols)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic.AsSpan(0, 6)))
            throw new InvalidDataException($"'{path}' is not a .npy file");
        int hlen = BitConverter.ToUInt16(bytes, 8);
        var header = Encoding.ASCII.GetString(bytes, 10, hlen);
        if (!header.Contains("'<f2'")) throw new InvalidDataException($"'{path}': expected float16 ('<f2'), header {header.Trim()}");
        var shape = header[(header.IndexOf('(') + 1)..header.IndexOf(')')].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (shape.Length != 2) throw new InvalidDataException($"'{path}': expected a 2-D array, header {header.Trim()}");
        rows = int.Parse(shape[0]); cols = int.Parse(shape[1]);
        int off = 10 + hlen;
        if (bytes.Length != off + rows * cols * 2) throw new InvalidDataException($"'{path}': {bytes.Length - off} data bytes for shape [{rows}, {cols}]");
        var data = new float[rows * cols];
        for (int i = 0; i < data.Length; i++) data[i] = (float)BitConverter.UInt16BitsToHalf(BitConverter.ToUInt16(bytes, off + 2 * i));
        return data;
    }
}
