using OlaVlm.Data;
using OlaVlm.Text;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Foundation;

/// A mini-CLIP recipe tried on its own: the CLIP trained with `f` into `outDir` (weights saved there, so an
/// experiment can use it as its vision tower: FoundationParts.WithVisionTower), then notebook 02's retrieval and
/// linear probes of its patch features.
public static class ClipRun
{
    /// A folder name that stands for the CLIP knobs `f` sets.
    public static string Tag(FoundationConfig f) =>
        $"s{f.ClipSteps}-n{f.ClipHardNegatives}-b{f.ClipBatch}-lr{f.ClipLr}-seg{f.ClipSegWeight}-c{f.ClipCentreWeight}";

    public static (ClipReport Report, IReadOnlyList<PatchProbeResult> Probes) Run(WorldData world, FoundationConfig f, string outDir,
                                                                                   Device? device = null, Action<string>? log = null)
    {
        device ??= Core.Devices.Default;
        var tok = WorldTokenizer.Build(ChatTemplate.Miniature());
        var (clip, report) = FoundationTraining.TrainClip(world, f, tok, Path.Combine(outDir, "run"), device, log);
        using var _ = clip;
        MiniClip.Save(clip, outDir);
        using var tower = MiniClip.VisionTower(clip);
        return (report, PatchProbes.Run(tower, world, "ift", 2000, device));
    }
}
