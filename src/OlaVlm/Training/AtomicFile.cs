namespace OlaVlm.Training;

/// All-or-nothing file writes: write to a temporary file in the same folder, flush it to disk, then
/// rename over the target. A crash or exception midway leaves the old file (or none) and no debris;
/// readers never see half a checkpoint. Same folder because rename is only atomic within one file system. A kill
/// (which no catch sees) leaves the temporary file, named after its process: Core.TempFiles.Sweep removes it later.
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var temp = Core.TempFiles.Beside(full);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { /* the original error matters more */ }
            throw;
        }
    }

    public static void WriteText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); });

    /// True for names AtomicFile uses for its temporary files (tests and cleanup look for them).
    public static bool IsTemporary(string path) => Core.TempFiles.IsTemporary(path);
}
