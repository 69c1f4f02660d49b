using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace OlaVlm.Core;

/// What decides the bits a run computes besides its seed, data and config: the CPU (which kernels libtorch's
/// dispatcher and oneDNN pick, and how they sum), whether oneDNN convolutions are on (Core.OneDnn's decision),
/// the intra-op thread count (how reductions are split) and the library versions. With all of them equal a run is
/// bitwise reproducible; on another machine results agree within tolerances, not bit for bit (README, "What is
/// reproducible where"). Shipped manifests and the determinism fingerprint record this, so a difference can be
/// read as "another machine" rather than "damage".
public static class Reproducibility
{
    /// The decisions of this process (OneDnn.Apply runs first, so its decision is in).
    public static JsonObject Record()
    {
        OneDnn.Apply();
        return new JsonObject
        {
            ["cpu"] = CpuModel(),
            ["cpuFlags"] = string.Join(" ", CpuFlags()),
            ["oneDnn"] = OneDnn.Status,
            ["threads"] = get_num_threads(),
            ["libtorch"] = __version__,
            ["torchsharp"] = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(),
            ["device"] = Devices.Default.ToString(),
        };
    }

    /// How this process's decisions compare with `recorded` (a Record() from the run that wrote a file): null when
    /// they are the same (bitwise reproduction is expected), else which of them differ.
    public static string? Differences(JsonNode? recorded)
    {
        if (recorded is not JsonObject r) return "no record of the machine that wrote it";
        var now = Record();
        var keys = now.Select(kv => kv.Key).Where(k => r[k]?.ToJsonString() != now[k]?.ToJsonString()).ToList();
        return keys.Count == 0 ? null : string.Join("; ", keys.Select(k => $"{k}: {r[k]?.ToJsonString() ?? "unrecorded"} there, {now[k]?.ToJsonString()} here"));
    }

    /// One line for logs: "same machine and kernel decisions" or what differs.
    public static string Describe(JsonNode? recorded) => Differences(recorded) is string d
        ? $"written on another machine or with other kernel decisions ({d}): expect equality within tolerance, not bit for bit"
        : "written on this machine with the same kernel decisions: expect bitwise equality";

    static string CpuModel() => CpuInfo("model name") ?? "unknown CPU";

    /// The instruction-set flags that change which kernels run (AVX-512 variants, AVX2, FMA, AMX).
    static IEnumerable<string> CpuFlags() => (CpuInfo("flags") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)
        .Where(f => f.StartsWith("avx512", StringComparison.Ordinal) || f is "avx2" or "fma" || f.StartsWith("amx", StringComparison.Ordinal)).Order();

    static string? CpuInfo(string key)
    {
        try
        {
            return File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
                : null;
        }
        catch (IOException) { return null; }
    }
}
