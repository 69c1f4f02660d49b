using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace OlaVlm.Tests.FaultInjection;

/// A regenerated shipment that differs from data/teachers only as another machine's rounding does is reported as
/// within tolerance, not as damage; a changed setting or a destroyed tensor is reported as different.
public class ShippedComparisonTests : IDisposable
{
    readonly string _dir = Path.Combine(Paths.OutDir("test-fault"), "compare-" + Guid.NewGuid().ToString("N"));
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    string CopyShipped()
    {
        Directory.CreateDirectory(_dir);
        foreach (var f in Directory.GetFiles(WorldTeachers.ShippedDir)) File.Copy(f, Path.Combine(_dir, Path.GetFileName(f)));
        return _dir;
    }

    /// Rewrites a safetensors file with each float tensor scaled by (1 + eps·noise).
    static void Perturb(string path, double eps)
    {
        var sd = Checkpoint.Read(path);
        var g = new Generator(1);
        var noisy = sd.ToDictionary(kv => kv.Key, kv => is_floating_point(kv.Value) ? kv.Value * (1 + eps * randn(kv.Value.shape, generator: g)) : kv.Value);
        using var s = File.Create(path);
        Safetensors.SaveStateDict(s, noisy);
    }

    static ShippedComparison.Verdict Worst(string regenerated) =>
        ShippedComparison.Compare(WorldTeachers.ShippedDir, regenerated, TeacherStore.ManifestName).Max(d => d.Verdict);

    [Fact]
    public void Rounding_is_within_tolerance_and_damage_or_another_recipe_is_not()
    {
        var dir = CopyShipped();
        Assert.Equal(ShippedComparison.Verdict.Identical, Worst(dir));
        Perturb(Path.Combine(dir, "seg-mini.safetensors"), 1e-3);   // what other kernels' rounding does to trained weights
        File.WriteAllText(Path.Combine(dir, "teachers.json"), File.ReadAllText(Path.Combine(dir, "teachers.json")).Replace("\"seconds\": 138.4", "\"seconds\": 901.2"));
        var diffs = ShippedComparison.Compare(WorldTeachers.ShippedDir, dir, TeacherStore.ManifestName);
        Assert.Equal(ShippedComparison.Verdict.WithinTolerance, diffs.Single(d => d.File == "seg-mini.safetensors").Verdict);
        Assert.Equal(ShippedComparison.Verdict.WithinTolerance, diffs.Max(d => d.Verdict));

        Perturb(Path.Combine(dir, "gen-mini.safetensors"), 2.0);     // not rounding: another model
        Assert.Equal(ShippedComparison.Verdict.Different, Worst(dir));
        File.Copy(Path.Combine(WorldTeachers.ShippedDir, "gen-mini.safetensors"), Path.Combine(dir, "gen-mini.safetensors"), overwrite: true);
        File.WriteAllText(Path.Combine(dir, "depth-mini.json"), File.ReadAllText(Path.Combine(dir, "depth-mini.json")).Replace("\"Steps\": 1000", "\"Steps\": 2000"));
        var recipe = ShippedComparison.Compare(WorldTeachers.ShippedDir, dir, TeacherStore.ManifestName).Single(d => d.File == "depth-mini.json");
        Assert.Equal(ShippedComparison.Verdict.Different, recipe.Verdict);
        Assert.Contains("Steps", recipe.Detail);
    }
}
