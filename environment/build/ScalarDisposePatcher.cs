// MSBuild inline task (compiled by RoslynCodeTaskFactory from Directory.Build.targets).
//
// Why: TorchSharp 0.107 frees a Scalar's native memory in its finalizer, and passes only the raw handle to
// native code: `t.mul(0.5)` makes a temporary Scalar, reads its handle, and calls THSTensor_mul_scalar. From
// that moment nothing references the managed Scalar, so a garbage collection triggered by another thread
// (the notebook kernel's, the test runner's) can finalize it while libtorch is still reading it. The freed
// block's first bytes (the Scalar's type tag) are then allocator bookkeeping, and libtorch throws
// "Expected false to be true, but got false" from c10::Scalar's accessors, at random. TorchSharp's own code
// (its optimizers, e.g. AdamW.step) does this too, so no discipline in our code avoids it. Measured here:
// 34 such errors in 622,204 `mul(0.5)` calls with one allocating thread beside them (`OlaCheck scalar-race`).
//
// The fix: THSTorch_dispose_scalar's first instruction becomes `ret`, so a Scalar's 32 bytes are never
// freed and no finalizer can pull them from under a native call. The cost is those bytes per Scalar ever
// made (README, Troubleshooting, gives the measured total). Idempotent, skipped off Linux, and leaves files
// without the symbol untouched; Core.ScalarLifetime reports at run time whether the loaded library has it.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class ScalarDisposePatcher : Task
{
    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    public const string Symbol = "THSTorch_dispose_scalar";
    const uint SHT_DYNSYM = 11;
    const ulong SHF_EXECINSTR = 0x4;
    const byte Ret = 0xC3;

    public override bool Execute()
    {
        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            if (!File.Exists(path)) continue;
            try
            {
                var bytes = File.ReadAllBytes(path);
                long at = FunctionOffset(bytes, Symbol);
                if (at < 0 || bytes[at] == Ret) continue;
                bytes[at] = Ret;
                // Write beside, then rename: a process that has the old file mapped keeps its copy.
                var tmp = path + ".scalarpatch.tmp";
                File.WriteAllBytes(tmp, bytes);
                File.Replace(tmp, path, null);
                Log.LogMessage(MessageImportance.High, $"OlaVlm: {Symbol} made a no-op in {path} (Scalar use-after-free guard)");
            }
            catch (Exception e)
            {
                Log.LogError($"OlaVlm: could not patch {Symbol} in {path}: {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    /// The file offset of an exported function's first instruction, or -1 (not ELF64 LE, no such symbol, or
    /// not in an executable section).
    public static long FunctionOffset(byte[] b, string symbol)
    {
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2 || b[5] != 1) return -1;
        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A), shnum = BitConverter.ToUInt16(b, 0x3C);
        long Sh(int i) => shoff + (long)i * shentsize;
        for (int i = 0; i < shnum; i++)
        {
            if (BitConverter.ToUInt32(b, (int)Sh(i) + 4) != SHT_DYNSYM) continue;
            long symOff = BitConverter.ToInt64(b, (int)Sh(i) + 0x18), symSize = BitConverter.ToInt64(b, (int)Sh(i) + 0x20);
            long strOff = BitConverter.ToInt64(b, (int)Sh(BitConverter.ToInt32(b, (int)Sh(i) + 0x28)) + 0x18);
            for (long s = symOff; s + 24 <= symOff + symSize; s += 24)
            {
                if (ReadCString(b, strOff + BitConverter.ToUInt32(b, (int)s)) != symbol) continue;
                ulong value = BitConverter.ToUInt64(b, (int)s + 8);
                int shndx = BitConverter.ToUInt16(b, (int)s + 6);
                if (shndx == 0 || shndx >= shnum) return -1;
                ulong flags = BitConverter.ToUInt64(b, (int)Sh(shndx) + 0x08), addr = BitConverter.ToUInt64(b, (int)Sh(shndx) + 0x10);
                long offset = BitConverter.ToInt64(b, (int)Sh(shndx) + 0x18);
                if ((flags & SHF_EXECINSTR) == 0 || value < addr) return -1;
                return offset + (long)(value - addr);
            }
        }
        return -1;
    }

    static string ReadCString(byte[] b, long at)
    {
        int end = (int)at;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, end - (int)at);
    }
}
