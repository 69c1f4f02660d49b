using OlaVlm.Data;
using OlaVlm.Ola;
using OlaVlm.Teachers;
using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// Glue between the teachers and the heads: task ↔ teacher kind, OlaConfig shapes from the teachers'
/// TargetShape, and a batch's target tensors from ITargetSources keyed by image.
public static class TeacherTargets
{
    public static OlaTask Task(TeacherKind kind) => kind switch
    {
        TeacherKind.Depth => OlaTask.Depth, TeacherKind.Seg => OlaTask.Seg, TeacherKind.Gen => OlaTask.Gen,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown teacher kind"),
    };

    public static TeacherKind Kind(OlaTask task) => task switch
    {
        OlaTask.Depth => TeacherKind.Depth, OlaTask.Seg => TeacherKind.Seg, OlaTask.Gen => TeacherKind.Gen,
        _ => throw new ArgumentOutOfRangeException(nameof(task), task, "unknown OLA task"),
    };

    /// `config` with each task's NumTargetTokens × TargetDim taken from the teachers' [tokens, dim]
    /// (layers, λ and predictor settings kept). Every task in config.Tasks needs a shape; extra shapes are
    /// ignored. The result is validated (e.g. target tokens divisible by NumTaskTokens).
    public static OlaConfig ForTeachers(this OlaConfig config, IReadOnlyDictionary<OlaTask, long[]> shapes)
    {
        var specs = new Dictionary<OlaTask, OlaTaskSpec>(config.Specs);
        foreach (var task in config.Tasks)
        {
            if (!shapes.TryGetValue(task, out var s))
                throw new ArgumentException($"OlaConfig.ForTeachers: no teacher for task '{task.Name()}' (teachers given: {string.Join(",", shapes.Keys.Select(k => k.Name()))})");
            if (s.Length != 2 || s[0] < 1 || s[1] < 1)
                throw new ArgumentException($"OlaConfig.ForTeachers: teacher shape for '{task.Name()}' must be [tokens, dim], got [{string.Join(", ", s)}]");
            specs[task] = config.Spec(task) with { NumTargetTokens = (int)s[0], TargetDim = (int)s[1] };
        }
        return (config with { Specs = specs }).Validate();
    }

    public static OlaConfig ForTeachers(this OlaConfig config, IEnumerable<ITeacher> teachers) =>
        config.ForTeachers(teachers.ToDictionary(t => Task(t.Kind), t => t.TargetShape));

    public static OlaConfig ForTeachers(this OlaConfig config, IReadOnlyDictionary<OlaTask, ITargetSource> sources) =>
        config.ForTeachers(sources.ToDictionary(kv => kv.Key, kv => kv.Value.TargetShape));

    /// Targets for a whole batch: [B, tokens, dim] per task, image samples' rows from the source (by image
    /// key, in order), text-only rows zero: their loss is masked, and as InfoNCE negatives (the default
    /// reduction) a zero target is neutral, logit 0. The reference encodes a black image instead.
    public static Dictionary<OlaTask, Tensor> ForBatch(IReadOnlyDictionary<OlaTask, ITargetSource> sources, bool[] hasImage,
                                                       IReadOnlyList<string> imageKeys, Device device)
    {
        int images = hasImage.Count(h => h);
        if (images != imageKeys.Count)
            throw new ArgumentException($"TeacherTargets.ForBatch: {images} samples have an image but {imageKeys.Count} image keys were given");
        var rows = tensor(hasImage.Select((h, i) => (h, i)).Where(p => p.h).Select(p => (long)p.i).ToArray(), device: device);
        var result = new Dictionary<OlaTask, Tensor>();
        foreach (var (task, src) in sources)
        {
            var shape = src.TargetShape;
            var all = zeros(hasImage.Length, shape[0], shape[1], device: device);
            if (images > 0) all = all.index_copy(0, rows, src.Get(imageKeys, device));
            result[task] = all;
        }
        return result;
    }

    public static Dictionary<OlaTask, Tensor> ForBatch(IReadOnlyDictionary<OlaTask, ITargetSource> sources, ConversationBatch batch,
                                                       long imageTokenId, Device device) =>
        ForBatch(sources, batch.HasImage(imageTokenId), batch.ImageKeys, device);
}
