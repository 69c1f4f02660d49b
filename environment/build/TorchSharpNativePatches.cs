// MSBuild inline tasks (compiled by RoslynCodeTaskFactory from Directory.Build.targets): two byte patches of
// TorchSharp 0.107's libLibTorchSharp.so, sharing one reader of ELF64 little-endian files. Each is idempotent,
// leaves files that do not need it untouched, and is skipped off Linux.
//
// ElfVersionNeedPatcher — why: the library records a need for GLIBCXX_3.4.32, but Debian 12's libstdc++ stops at
// 3.4.30, so the loader refuses it. Only `_ZSt21ios_base_library_initv` carries that version and nothing
// relocates against it, so marking the version need VER_FLG_WEAK lets ld.so load the library (a missing weak
// version is a warning, not an error).
//
// ScalarDisposePatcher — why: TorchSharp frees a Scalar's native memory in its finalizer, and passes only the raw
// handle to native code: `t.mul(0.5)` makes a temporary Scalar, reads its handle, and calls
// THSTensor_mul_scalar. From that moment nothing references the managed Scalar, so a garbage collection
// triggered by another thread (the notebook kernel's, the test runner's) can finalize it while libtorch is still
// reading it. The freed block's first bytes (the Scalar's type tag) are then allocator bookkeeping, and libtorch
// throws "Expected false to be true, but got false" from c10::Scalar's accessors, at random. TorchSharp's own
// code (its optimizers, e.g. AdamW.step) does this too, so no discipline in our code avoids it. Measured here:
// 34 such errors in 622,204 `mul(0.5)` calls with one allocating thread beside them (`OlaCheck scalar-race`).
// The fix: THSTorch_dispose_scalar's first instruction becomes `ret`, so a Scalar's 32 bytes are never freed and
// no finalizer can pull them from under a native call. The cost is those bytes per Scalar ever made (README,
// Troubleshooting, gives the measured total); Core.ScalarLifetime reports at run time whether the loaded
// library has the patch.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// The few ELF64 little-endian reads both patches need (x86_64 / aarch64 Linux), and the way both write.
public static class Elf64
{
    public static bool IsElf64Le(byte[] b) =>
        b.Length >= 64 && b[0] == 0x7f && b[1] == (byte)'E' && b[2] == (byte)'L' && b[3] == (byte)'F' && b[4] == 2 && b[5] == 1;

    public static int SectionCount(byte[] b) => BitConverter.ToUInt16(b, 0x3C);

    /// The file offset of section header i.
    public static long Section(byte[] b, int i) => BitConverter.ToInt64(b, 0x28) + (long)i * BitConverter.ToUInt16(b, 0x3A);

    public static uint Type(byte[] b, int i) => BitConverter.ToUInt32(b, (int)Section(b, i) + 4);
    public static long Offset(byte[] b, int i) => BitConverter.ToInt64(b, (int)Section(b, i) + 0x18);
    public static int Link(byte[] b, int i) => (int)BitConverter.ToUInt32(b, (int)Section(b, i) + 0x28);

    public static string ReadCString(byte[] b, long at)
    {
        int end = (int)at;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, end - (int)at);
    }

    /// Patches every file in `files` that exists with `patch` (true when it changed the bytes), logging `done`.
    public static bool PatchFiles(TaskLoggingHelper log, ITaskItem[] files, string what, Func<byte[], bool> patch)
    {
        foreach (var item in files)
        {
            var path = item.GetMetadata("FullPath");
            if (!File.Exists(path)) continue;
            try
            {
                var bytes = File.ReadAllBytes(path);
                if (!patch(bytes)) continue;
                // Write beside, then rename: a process that has the old file mapped keeps its copy.
                var tmp = path + ".olapatch.tmp";
                File.WriteAllBytes(tmp, bytes);
                File.Replace(tmp, path, null);
                log.LogMessage(MessageImportance.High, $"OlaVlm: {what} in {path}");
            }
            catch (Exception e)
            {
                log.LogError($"OlaVlm: could not patch ({what}) {path}: {e.Message}");
            }
        }
        return !log.HasLoggedErrors;
    }
}

public class ElfVersionNeedPatcher : Task
{
    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string VersionName { get; set; } = "";

    const uint SHT_GNU_verneed = 0x6ffffffe;
    const ushort VER_FLG_WEAK = 0x2;

    public override bool Execute() => Elf64.PatchFiles(Log, Files, $"marked {VersionName} weak", b => MarkWeak(b, VersionName) > 0);

    /// Returns how many version-need entries were changed (0 when already weak or absent).
    public static int MarkWeak(byte[] b, string version)
    {
        if (!Elf64.IsElf64Le(b)) return 0;
        int changed = 0;
        for (int i = 0; i < Elf64.SectionCount(b); i++)
        {
            if (Elf64.Type(b, i) != SHT_GNU_verneed) continue;
            long strOff = Elf64.Offset(b, Elf64.Link(b, i));
            long vn = Elf64.Offset(b, i);
            while (true)
            {
                int cnt = BitConverter.ToUInt16(b, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                for (int j = 0; j < cnt; j++)
                {
                    ushort flags = BitConverter.ToUInt16(b, (int)aux + 4);
                    uint name = BitConverter.ToUInt32(b, (int)aux + 8);
                    if (Elf64.ReadCString(b, strOff + name) == version && (flags & VER_FLG_WEAK) == 0)
                    {
                        var nf = BitConverter.GetBytes((ushort)(flags | VER_FLG_WEAK));
                        b[aux + 4] = nf[0]; b[aux + 5] = nf[1];
                        changed++;
                    }
                    uint next = BitConverter.ToUInt32(b, (int)aux + 12);
                    if (next == 0) break;
                    aux += next;
                }
                uint vnNext = BitConverter.ToUInt32(b, (int)vn + 12);
                if (vnNext == 0) break;
                vn += vnNext;
            }
        }
        return changed;
    }
}

public class ScalarDisposePatcher : Task
{
    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    public const string Symbol = "THSTorch_dispose_scalar";
    const uint SHT_DYNSYM = 11;
    const ulong SHF_EXECINSTR = 0x4;
    const byte Ret = 0xC3;

    public override bool Execute() => Elf64.PatchFiles(Log, Files, $"{Symbol} made a no-op (Scalar use-after-free guard)", b =>
    {
        long at = FunctionOffset(b, Symbol);
        if (at < 0 || b[at] == Ret) return false;
        b[at] = Ret;
        return true;
    });

    /// The file offset of an exported function's first instruction, or -1 (not ELF64 LE, no such symbol, or
    /// not in an executable section).
    public static long FunctionOffset(byte[] b, string symbol)
    {
        if (!Elf64.IsElf64Le(b)) return -1;
        int shnum = Elf64.SectionCount(b);
        for (int i = 0; i < shnum; i++)
        {
            if (Elf64.Type(b, i) != SHT_DYNSYM) continue;
            long symOff = Elf64.Offset(b, i), symSize = BitConverter.ToInt64(b, (int)Elf64.Section(b, i) + 0x20);
            long strOff = Elf64.Offset(b, Elf64.Link(b, i));
            for (long s = symOff; s + 24 <= symOff + symSize; s += 24)
            {
                if (Elf64.ReadCString(b, strOff + BitConverter.ToUInt32(b, (int)s)) != symbol) continue;
                ulong value = BitConverter.ToUInt64(b, (int)s + 8);
                int shndx = BitConverter.ToUInt16(b, (int)s + 6);
                if (shndx == 0 || shndx >= shnum) return -1;
                long sh = Elf64.Section(b, shndx);
                ulong flags = BitConverter.ToUInt64(b, (int)sh + 0x08), addr = BitConverter.ToUInt64(b, (int)sh + 0x10);
                if ((flags & SHF_EXECINSTR) == 0 || value < addr) return -1;
                return Elf64.Offset(b, shndx) + (long)(value - addr);
            }
        }
        return -1;
    }
}
