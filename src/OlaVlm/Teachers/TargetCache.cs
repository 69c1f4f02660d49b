using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text.Json;
using OlaVlm.Core;
using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// Teacher targets computed once and read back from disk. Teachers are frozen and pre-training images
/// fixed, so running DAv2 / OneFormer / unCLIP at every step would only repeat work.
///
/// Layout (one pair of files per teacher per split, in `dir`):
///   <teacher>.<split>.f16         64-byte header ("OLATGT01", version, tokens, dim, count) then one fp16
///                                 row [tokens, dim] per image, in build order; memory-mapped for reads.
///   <teacher>.<split>.index.json  teacher name and hash, shape, image ids (row order) and a 64-bit
///                                 checksum per row.
/// A cache answers only for the teacher hash it was built with (StaleTargetCacheException otherwise);
/// a missing id, a damaged row or a truncated file throws naming the file and the key (Open checks every row's
/// checksum; OpenOrBuild reports a damaged cache and builds it again).
/// Nothing non-finite is stored: Build checks every batch (NonFiniteTargetException naming the teacher,
/// batch and image ids), and Open scans every row, so a cache written before that check (format 1, or a
/// damaged file) is refused by Open and rebuilt by OpenOrBuild.
public sealed unsafe class TargetCache : ITargetSource
{
    const string Magic = "OLATGT01";
    /// The format (docs/history.md): rows are checked finite when built and again when opened.
    const int Version = 2, HeaderBytes = 64;

    sealed record Index(int Format, string Teacher, string Kind, string TeacherHash, long Tokens, long Dim,
                        string[] Ids, ulong[] Checksums);

    public string DataPath { get; }
    public string IndexPath { get; }
    public string TeacherName { get; }
    public string TeacherHash { get; }
    public long[] TargetShape { get; }
    public IReadOnlyList<string> ImageIds => index.Ids;
    public int Count => index.Ids.Length;
    /// Check each row's checksum on read (cheap next to the copy; off only for benchmarking).
    public bool VerifyChecksums { get; set; } = true;

    readonly Index index;
    readonly Dictionary<string, int> rows;
    readonly long rowBytes;
    readonly MemoryMappedFile? map;
    readonly MemoryMappedViewAccessor? view;
    byte* basePtr;

    public static string DataFile(string dir, string teacherName, string split) => Path.Combine(dir, $"{teacherName}.{split}.f16");
    public static string IndexFile(string dir, string teacherName, string split) => Path.Combine(dir, $"{teacherName}.{split}.index.json");

    /// Runs `teacher` over `images` (id, [3, H, W]) in batches and writes the cache; returns it opened.
    /// Files are written under temporary names and renamed at the end, so an interrupted build leaves no cache.
    public static TargetCache Build(ITeacher teacher, IEnumerable<(string ImageId, Tensor Image)> images, string dir,
                                    string split = "train", int batchSize = 64)
    {
        Directory.CreateDirectory(dir);
        string data = DataFile(dir, teacher.Name, split), idx = IndexFile(dir, teacher.Name, split);
        string dataTemp = TempFiles.Beside(data), idxTemp = TempFiles.Beside(idx);
        long tokens = teacher.TargetShape[0], dim = teacher.TargetShape[1];
        var ids = new List<string>(); var sums = new List<ulong>(); var seen = new HashSet<string>();
        try
        {
        using (var fs = new FileStream(dataTemp, FileMode.Create, FileAccess.Write))
        {
            fs.Write(Header(tokens, dim, 0));
            var batch = new List<Tensor>();
            int batchNo = 0;
            void Flush()
            {
                if (batch.Count == 0) return;
                using var scope = NewDisposeScope();
                var images = stack(batch, 0);
                var t = teacher.Encode(images);
                Checked.Shape(t, [batch.Count, tokens, dim], $"{teacher.Name}.Encode output");
                var half = t.to(float16).cpu().contiguous();
                // The float16 copy is what is stored: checking it also catches values beyond its range.
                var batchIds = ids.Skip(ids.Count - batch.Count).ToList();
                NonFiniteTargets.Ensure(half, batchIds, teacher.Name,
                    $"batch {batchNo} of split '{split}' (rows {ids.Count - batch.Count}–{ids.Count - 1}, batch size {batchSize})", images);
                batchNo++;
                var bytes = half.bytes;
                long rb = tokens * dim * 2;
                for (int i = 0; i < batch.Count; i++) sums.Add(Checksum(bytes.Slice((int)(i * rb), (int)rb)));
                fs.Write(bytes);
                batch.Clear();
            }
            foreach (var (id, image) in images)
            {
                if (!seen.Add(id)) throw new ArgumentException($"TargetCache.Build ({teacher.Name}, {split}): image id '{id}' appears twice");
                var img = image.dim() == 4 && image.shape[0] == 1 ? image.squeeze(0) : image;
                Checked.Shape(img, [3, -1, -1], $"TargetCache.Build image '{id}'");
                ids.Add(id); batch.Add(img);
                if (batch.Count == batchSize) Flush();
            }
            Flush();
            fs.Position = 0;
            fs.Write(Header(tokens, dim, ids.Count));
        }
        }
        catch
        {
            File.Delete(dataTemp); // a refused build leaves nothing behind (a killed one: TempFiles.Sweep)
            throw;
        }
        var ix = new Index(Version, teacher.Name, teacher.Kind.ToString(), teacher.WeightsHash, tokens, dim, [.. ids], [.. sums]);
        File.WriteAllText(idxTemp, JsonSerializer.Serialize(ix));
        File.Move(dataTemp, data, overwrite: true);
        File.Move(idxTemp, idx, overwrite: true);
        return Open(teacher, dir, split);
    }

    /// Opens the cache of `teacher` for `split`; throws StaleTargetCacheException if it was built with
    /// different weights (hash), FileNotFoundException if absent, InvalidDataException if damaged.
    public static TargetCache Open(ITeacher teacher, string dir, string split = "train")
    {
        var c = new TargetCache(IndexFile(dir, teacher.Name, split), DataFile(dir, teacher.Name, split));
        if (c.index.Format != Version)
        {
            c.Dispose();
            throw new StaleTargetCacheException($"target cache {c.IndexPath} has format {c.index.Format}; this library writes format {Version} (rows checked finite)");
        }
        if (c.TeacherHash != teacher.WeightsHash || !c.TargetShape.SequenceEqual(teacher.TargetShape))
        {
            var msg = $"target cache {c.IndexPath} was built by {c.TeacherName} with hash {Short(c.TeacherHash)} and shape " +
                      $"{Checked.Fmt(c.TargetShape)}; the teacher now has hash {Short(teacher.WeightsHash)} and shape {Checked.Fmt(teacher.TargetShape)}";
            c.Dispose();
            throw new StaleTargetCacheException(msg);
        }
        return c;
    }

    /// Opens the cache, or (re)builds it when missing, stale (other weights, older format) or holding
    /// non-finite rows; `log` hears why it rebuilds. `images` is only enumerated when building.
    public static TargetCache OpenOrBuild(ITeacher teacher, IEnumerable<(string ImageId, Tensor Image)> images, string dir,
                                          string split = "train", int batchSize = 64, Action<string>? log = null)
    {
        TempFiles.Sweep(dir, log);   // a build a killed run left half-written
        if (File.Exists(IndexFile(dir, teacher.Name, split)) && File.Exists(DataFile(dir, teacher.Name, split)))
        {
            try { return Open(teacher, dir, split); }
            catch (Exception e) when (e is StaleTargetCacheException or NonFiniteTargetException or InvalidDataException)
            {
                log?.Invoke($"{teacher.Name}: rebuilding the {split} target cache: {e.Message}");
            }
        }
        return Build(teacher, images, dir, split, batchSize);
    }

    TargetCache(string indexPath, string dataPath)
    {
        IndexPath = indexPath; DataPath = dataPath;
        if (!File.Exists(indexPath)) throw new FileNotFoundException($"target cache index not found: {indexPath}", indexPath);
        if (!File.Exists(dataPath)) throw new FileNotFoundException($"target cache data not found: {dataPath}", dataPath);
        try { index = JsonSerializer.Deserialize<Index>(File.ReadAllText(indexPath)) ?? throw new InvalidDataException("empty"); }
        catch (Exception e) when (e is JsonException or InvalidDataException or NotSupportedException)
        { throw new InvalidDataException($"target cache index {indexPath} is unreadable: {e.Message}", e); }
        if (index.Ids is null || index.Checksums is null || index.Ids.Length != index.Checksums.Length || index.Tokens <= 0 || index.Dim <= 0)
            throw new InvalidDataException($"target cache index {indexPath} is inconsistent (ids, checksums or shape missing)");
        TeacherName = index.Teacher; TeacherHash = index.TeacherHash;
        TargetShape = [index.Tokens, index.Dim];
        rowBytes = index.Tokens * index.Dim * 2;
        rows = new Dictionary<string, int>(index.Ids.Length);
        for (int i = 0; i < index.Ids.Length; i++)
            if (!rows.TryAdd(index.Ids[i], i)) throw new InvalidDataException($"target cache index {indexPath}: image id '{index.Ids[i]}' appears twice");

        long expected = HeaderBytes + rowBytes * Count, actual = new FileInfo(dataPath).Length;
        if (actual != expected)
            throw new InvalidDataException($"target cache data {dataPath} has {actual} bytes, expected {expected} ({Count} rows of {Checked.Fmt(TargetShape)} fp16): truncated or from another build");
        if (index.Format != Version) return; // an older format: Open reports it as stale, nothing else is read
        map = MemoryMappedFile.CreateFromFile(dataPath, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        basePtr = p + view.PointerOffset;
        var header = new ReadOnlySpan<byte>(basePtr, HeaderBytes);
        if (!header.SequenceEqual(Header(index.Tokens, index.Dim, Count)))
        {
            Dispose();
            throw new InvalidDataException($"target cache data {dataPath}: header does not match {indexPath} (expected {Magic} v{Version}, {Checked.Fmt(TargetShape)}, {Count} rows)");
        }
        long halfs = rowBytes / 2;
        for (int r = 0; r < Count; r++)
        {
            var row = new ReadOnlySpan<byte>(basePtr + HeaderBytes + r * rowBytes, (int)rowBytes);
            string? why = NonFiniteTargets.FirstNonFiniteRow(MemoryMarshal.Cast<byte, ushort>(row), halfs) >= 0 ? "holds NaN or ±Inf"
                : Checksum(row) != index.Checksums[r] ? "is corrupt (checksum mismatch)" : null;
            if (why is null) continue;
            Dispose();
            var message = $"target cache {dataPath}: row {r} (image id '{index.Ids[r]}', teacher {index.Teacher}) {why}; rebuild the cache";
            throw why.StartsWith("holds") ? new NonFiniteTargetException(message) : new InvalidDataException(message);
        }
    }

    public bool Contains(string imageId) => rows.ContainsKey(imageId);

    public Tensor Get(IReadOnlyList<string> imageIds, Device? device = null)
    {
        if (basePtr == null) throw new ObjectDisposedException($"target cache {DataPath}");
        var buf = new byte[imageIds.Count * rowBytes];
        for (int i = 0; i < imageIds.Count; i++)
        {
            var id = imageIds[i];
            if (!rows.TryGetValue(id, out int r))
                throw new KeyNotFoundException($"target cache {IndexPath}: no target for image id '{id}' ({TeacherName}, {Count} entries)");
            var src = new ReadOnlySpan<byte>(basePtr + HeaderBytes + r * rowBytes, (int)rowBytes);
            if (VerifyChecksums && Checksum(src) != index.Checksums[r])
                throw new InvalidDataException($"target cache {DataPath}: entry for image id '{id}' (row {r}) is corrupt (checksum mismatch); rebuild the cache");
            src.CopyTo(buf.AsSpan((int)(i * rowBytes)));
        }
        using var half = empty([imageIds.Count, TargetShape[0], TargetShape[1]], float16);
        half.bytes = buf;
        return half.to(float32).to(device ?? Devices.Default);
    }

    static byte[] Header(long tokens, long dim, long count)
    {
        var h = new byte[HeaderBytes];
        System.Text.Encoding.ASCII.GetBytes(Magic).CopyTo(h, 0);
        BitConverter.TryWriteBytes(h.AsSpan(8), Version);
        BitConverter.TryWriteBytes(h.AsSpan(12), (int)tokens);
        BitConverter.TryWriteBytes(h.AsSpan(16), (int)dim);
        BitConverter.TryWriteBytes(h.AsSpan(24), count);
        return h;
    }

    /// FNV-1a over 64-bit words (then the tail bytes). Each step is a bijection of the word, so any single
    /// changed word changes the sum; it is a corruption check, not a cryptographic hash.
    public static ulong Checksum(ReadOnlySpan<byte> bytes)
    {
        const ulong prime = 1099511628211UL;
        ulong h = 14695981039346656037UL;
        var words = MemoryMarshal.Cast<byte, ulong>(bytes);
        foreach (var w in words) h = (h ^ w) * prime;
        for (int i = words.Length * 8; i < bytes.Length; i++) h = (h ^ bytes[i]) * prime;
        return h;
    }

    static string Short(string hash) => hash.Length > 12 ? hash[..12] + "…" : hash;

    public void Dispose()
    {
        if (view is not null && basePtr != null) view.SafeMemoryMappedViewHandle.ReleasePointer();
        view?.Dispose(); map?.Dispose();
        basePtr = null;
    }
}

/// The cache was built by a teacher with other weights or config: its targets must not be used.
public sealed class StaleTargetCacheException(string message) : InvalidOperationException(message);
