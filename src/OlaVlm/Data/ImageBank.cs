using OlaVlm.Core;
using OlaVlm.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace OlaVlm.Data;

/// All images of a dataset decoded once and kept as one uint8 tensor [N, 3, H, W] on the CPU (a 64×64
/// world of 8,000 images is 98 MB), so training steps index rows instead of decoding PNGs. Rows are
/// normalised and moved to the device per batch.
public sealed class ImageBank : IDisposable
{
    readonly Tensor _pixels;                    // uint8 [N, 3, H, W]
    readonly Dictionary<string, int> _rows;     // image path (as written in the dataset) → row

    public int Count => _rows.Count;
    public int Size { get; }

    ImageBank(Tensor pixels, Dictionary<string, int> rows, int size) { _pixels = pixels; _rows = rows; Size = size; }

    /// Decodes every distinct image a dataset names (through the one size-limited ImageLoader).
    /// Images must be square and all of one size: the vision tower's input.
    /// A bad or missing image names the record that uses it as well as the file.
    public static ImageBank Load(LlavaDataset data)
    {
        var first = data.Records.Where(r => r.HasImage).GroupBy(r => r.Image!).Select(g => g.First()).ToList();   // in file order
        var byImage = first.ToDictionary(r => r.Image!);
        try { return Load(first.Select(r => r.Image!), p => data.ImagePath(byImage[p])!); }
        catch (ImageLoadException e) when (byImage.Values.FirstOrDefault(r => e.Message.Contains(data.ImagePath(r)!)) is { } r)
        { throw new ImageLoadException($"'{data.File}' record {r.Id}: {e.Message}", e); }
    }

    public static ImageBank Load(IEnumerable<string> keys, Func<string, string> pathOf)
    {
        var list = keys.ToList();
        var rows = new Dictionary<string, int>();
        byte[]? buffer = null;
        int size = 0;
        for (int i = 0; i < list.Count; i++)
        {
            var file = pathOf(list[i]);
            using var img = ImageLoader.Load(file);
            if (img.Width != img.Height) throw new InvalidDataException($"{file}: image is {img.Width}×{img.Height}; the image bank needs square images");
            if (buffer == null) { size = img.Width; buffer = new byte[list.Count * 3 * size * size]; }
            else if (img.Width != size) throw new InvalidDataException($"{file}: image is {img.Width}×{img.Height}, the others are {size}×{size}");
            int plane = size * size, baseIdx = i * 3 * plane;
            img.ProcessPixelRows(acc =>
            {
                for (int y = 0; y < size; y++)
                {
                    var row = acc.GetRowSpan(y);
                    for (int x = 0; x < size; x++)
                    {
                        var p = row[x];
                        buffer[baseIdx + y * size + x] = p.R;
                        buffer[baseIdx + plane + y * size + x] = p.G;
                        buffer[baseIdx + 2 * plane + y * size + x] = p.B;
                    }
                }
            });
            rows[list[i]] = i;
        }
        var pixels = buffer == null ? zeros(0, 3, 1, 1, ScalarType.Byte) : tensor(buffer, [list.Count, 3, size, size], ScalarType.Byte);
        return new ImageBank(pixels, rows, size);
    }

    public int Row(string image) => _rows.TryGetValue(image, out var r) ? r
        : throw new KeyNotFoundException($"image '{image}' is not in this image bank ({Count} images)");

    /// Normalised float pixels [rows.Length, 3, H, W] on the device.
    public Tensor Pixels(IReadOnlyList<int> rows, Device device, Normalization? norm = null)
    {
        norm ??= Normalization.Clip;
        using var idx = tensor(rows.Select(r => (long)r).ToArray());
        using var raw = _pixels.index_select(0, idx);
        using var f = raw.to(device).to_type(ScalarType.Float32).div_(255f);
        using var mean = tensor(norm.Mean, device: device).view(1, 3, 1, 1);
        using var std = tensor(norm.Std, device: device).view(1, 3, 1, 1);
        return (f - mean) / std;
    }

    public void Dispose() => _pixels.Dispose();
}
