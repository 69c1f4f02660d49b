using System.Text.Json.Nodes;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests;

/// A full-size model's parameter names and shapes without its weights: the module is built on the meta device
/// (shapes only, nothing allocated) and compared with a committed shape manifest of the real checkpoint, written by
/// the fixture scripts from the reference code. Classes that call Shapes belong in SerialCollection: the meta
/// device is set as torch's process-wide default device while the module is built.
public static class MetaLayout
{
    public static SortedDictionary<string, long[]> Shapes(Func<Device, nn.Module> build)
    {
        var old = get_default_device();
        set_default_device(META);
        try
        {
            using var module = build(META);
            var sd = module.state_dict();
            Assert.All(sd.Values, t => Assert.Equal(DeviceType.META, t.device_type));
            return new(sd.ToDictionary(kv => kv.Key, kv => kv.Value.shape), StringComparer.Ordinal);
        }
        finally { set_default_device(old); }
    }

    /// A manifest's names and shapes, in any of the layouts the fixture scripts write: {name: shape};
    /// {"keys": {name: shape}}; {"tensors": [{"name", "shape", ...}]}; {"entries": [[name, shape]]}.
    public static SortedDictionary<string, long[]> ReadManifest(string path)
    {
        var root = JsonNode.Parse(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty JSON");
        var list = root["keys"] ?? root["tensors"] ?? root["entries"] ?? root;
        static long[] Shape(JsonNode? n) => n!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
        IEnumerable<(string, long[])> pairs = list switch
        {
            JsonObject o => o.Select(kv => (kv.Key, Shape(kv.Value))),
            JsonArray a => a.Select(e => e is JsonArray pair ? (pair[0]!.GetValue<string>(), Shape(pair[1]))
                                                             : (e!["name"]!.GetValue<string>(), Shape(e["shape"]))),
            _ => throw new InvalidDataException($"{path}: not a shape manifest")
        };
        return new(pairs.ToDictionary(p => p.Item1, p => p.Item2), StringComparer.Ordinal);
    }

    public static long Parameters(IReadOnlyDictionary<string, long[]> shapes) => shapes.Values.Sum(s => s.Aggregate(1L, (a, d) => a * d));

    /// Every manifest key in the module and no other, with the manifest's shape; the failure lists what differs.
    public static void AssertSame(IReadOnlyDictionary<string, long[]> manifest, IReadOnlyDictionary<string, long[]> module, string what, ITestOutputHelper output)
    {
        var missing = manifest.Keys.Except(module.Keys).ToList();
        var extra = module.Keys.Except(manifest.Keys).ToList();
        var shapes = manifest.Keys.Intersect(module.Keys).Where(k => !manifest[k].SequenceEqual(module[k]))
            .Select(k => $"{k}: checkpoint {Checked.Fmt(manifest[k])}, module {Checked.Fmt(module[k])}").ToList();
        output.WriteLine($"{what}: {manifest.Count} checkpoint tensors, {module.Count} module tensors, {missing.Count} missing, {extra.Count} extra, " +
                         $"{shapes.Count} shape mismatches; {Parameters(manifest):N0} parameters");
        Assert.True(missing.Count == 0, $"{what}: not in the module: {string.Join(", ", missing.Take(10))}");
        Assert.True(extra.Count == 0, $"{what}: not in the checkpoint: {string.Join(", ", extra.Take(10))}");
        Assert.True(shapes.Count == 0, $"{what}: {string.Join("; ", shapes.Take(10))}");
    }
}
