// MSBuild inline task (compiled by RoslynCodeTaskFactory from Directory.Build.targets).
//
// Why: TorchSharp 0.107's libLibTorchSharp.so records a need for GLIBCXX_3.4.32, but Debian 12's
// libstdc++ stops at 3.4.30, so the loader refuses the library. Only `_ZSt21ios_base_library_initv`
// carries that version and nothing relocates against it, so marking the version need VER_FLG_WEAK
// lets ld.so load the library (a missing weak version is a warning, not an error).
// The patch is idempotent, leaves files that do not need it untouched, and is skipped off Linux.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class ElfVersionNeedPatcher : Task
{
    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string VersionName { get; set; } = "";

    const uint SHT_GNU_verneed = 0x6ffffffe;
    const ushort VER_FLG_WEAK = 0x2;

    public override bool Execute()
    {
        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            if (!File.Exists(path)) continue;
            try
            {
                var bytes = File.ReadAllBytes(path);
                int changed = MarkWeak(bytes, VersionName);
                if (changed > 0)
                {
                    // Write beside, then rename: a process that has the old file mapped keeps its copy.
                    var tmp = path + ".weakpatch.tmp";
                    File.WriteAllBytes(tmp, bytes);
                    File.Replace(tmp, path, null);
                    Log.LogMessage(MessageImportance.High, $"OlaVlm: marked {VersionName} weak in {path}");
                }
            }
            catch (Exception e)
            {
                Log.LogError($"OlaVlm: could not patch {path}: {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    /// Returns how many version-need entries were changed (0 when already weak or absent).
    public static int MarkWeak(byte[] b, string version)
    {
        // ELF64 little-endian only (x86_64 / aarch64 Linux).
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F') return 0;
        if (b[4] != 2 || b[5] != 1) return 0;
        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A), shnum = BitConverter.ToUInt16(b, 0x3C);
        int changed = 0;
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (BitConverter.ToUInt32(b, (int)sh + 4) != SHT_GNU_verneed) continue;
            long off = BitConverter.ToInt64(b, (int)sh + 0x18);
            int link = (int)BitConverter.ToUInt32(b, (int)sh + 0x28);
            long strOff = BitConverter.ToInt64(b, (int)(shoff + (long)link * shentsize) + 0x18);
            long vn = off;
            while (true)
            {
                int cnt = BitConverter.ToUInt16(b, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                for (int j = 0; j < cnt; j++)
                {
                    ushort flags = BitConverter.ToUInt16(b, (int)aux + 4);
                    uint name = BitConverter.ToUInt32(b, (int)aux + 8);
                    if (ReadCString(b, strOff + name) == version && (flags & VER_FLG_WEAK) == 0)
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

    static string ReadCString(byte[] b, long at)
    {
        int end = (int)at;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, end - (int)at);
    }
}
