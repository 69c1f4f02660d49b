using System.Diagnostics;
using OlaVlm.Ola;
using OlaVlm.Teachers.DepthAnything;
using OlaVlm.Teachers.OneFormer;
using OlaVlm.Teachers.UnClip;
using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// Where the three released teachers lie on disk (what OLA-VLM's pretrain.sh passes as --depth_estimator,
/// --image_segmentor, --image_generator): Depth-Anything-V2's .pth (Dav2Encoder: vits/vitb/vitl/vitg, "tiny" for the
/// tests' miniature), the shi-labs/oneformer_coco_swin_large folder, and the stable-diffusion-2-1-unclip folder (or
/// its image_encoder/). A null path leaves that teacher, and its task, out.
public sealed record TeacherPaths(string? Dav2, string? OneFormer, string? UnClip, string Dav2Encoder = "vitl")
{
    public bool Any => Dav2 is not null || OneFormer is not null || UnClip is not null;
}

/// Loads the full-scale teachers and fits OLA-VLM's predictors to them.
public static class FullScaleTeachers
{
    /// Each given teacher, loaded strictly onto `device` (dtype: OneFormer's and unCLIP's compute dtype, default float32;
    /// DAv2 always computes in float32), keyed by the task it teaches.
    public static Dictionary<OlaTask, ITeacher> Load(TeacherPaths paths, Device device, ScalarType? dtype = null, Action<string>? log = null)
    {
        var teachers = new Dictionary<OlaTask, ITeacher>();
        try
        {
            if (paths.Dav2 is string d) teachers[OlaTask.Depth] = Timed(() => DepthAnythingV2Teacher.Load(d, DepthAnythingV2Config.FromName(paths.Dav2Encoder), device), d, log);
            if (paths.OneFormer is string s) teachers[OlaTask.Seg] = Timed(() => OneFormerSegTeacher.FromPretrained(s, device, dtype), s, log);
            if (paths.UnClip is string g) teachers[OlaTask.Gen] = Timed(() => UnClipImageEncoderTeacher.Load(g, device, dtype), g, log);
        }
        catch { foreach (var t in teachers.Values) t.Dispose(); throw; }
        return teachers;
    }

    static ITeacher Timed(Func<ITeacher> load, string path, Action<string>? log)
    {
        var sw = Stopwatch.StartNew();
        var t = load();
        log?.Invoke($"teacher {t.Name} ({t.Kind}) from {path}: target {Core.Checked.Fmt(t.TargetShape)}, {sw.Elapsed.TotalSeconds:F1} s");
        return t;
    }

    /// The paper's OLA-VLM settings (`basis`, default OlaConfig.Paper) for these teachers: their tasks in the
    /// reference's token order (gen, depth, seg), each predictor sized to its teacher's target. At full scale this is
    /// OlaConfig.Paper itself; with smaller teachers only the target shapes change.
    public static OlaConfig ConfigFor(IReadOnlyDictionary<OlaTask, ITeacher> teachers, OlaConfig? basis = null)
    {
        basis ??= OlaConfig.Paper;
        if (teachers.Count == 0) throw new ArgumentException("FullScaleTeachers.ConfigFor: no teacher, so no OLA-VLM task");
        var tasks = basis.Tasks.Where(teachers.ContainsKey).ToList();
        var specs = tasks.ToDictionary(t => t, t => basis.Spec(t) with
        {
            NumTargetTokens = (int)teachers[t].TargetShape[0], TargetDim = (int)teachers[t].TargetShape[1],
        });
        return (basis with { Tasks = tasks, Specs = specs }).Validate();
    }
}
