using OlaVlm.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Ola;

/// The learnable task tokens ⟨gen⟩ ⟨depth⟩ ⟨seg⟩ that sit right after the image tokens.
///
/// Why two sizes for depth and seg: their parameter holds one query per TEACHER target token
/// ([NumTargetTokens, hidden], e.g. 576 × 4096), which the predictor uses as its Perceiver queries;
/// the sequence only gets N of them, made by mean-pooling consecutive groups (reference
/// "expand_emb": view(N, 576/N, hidden).mean(1)). Group g averages rows g·k … g·k+k-1, k = targets/N;
/// targets not divisible by N is refused (OlaConfig.Validate). The gen parameter is [N, hidden] and goes
/// into the sequence as is. With N = 0 (ablation) nothing enters the sequence; depth/seg keep their
/// query parameter and gen keeps a single learned query [1, hidden] (the reference then uses plain
/// resamplers with learned latents).
/// Parameter names follow the reference (special_depth_tokens, ...), initialised N(0, TaskTokenInitStd²).
public sealed class TaskTokens : nn.Module
{
    readonly OlaConfig _config;
    // Tasks only: the parameters are looked up by name at use time, because module.to(dtype/device)
    // replaces parameter objects and a cached reference would then point at a stale tensor.
    readonly HashSet<OlaTask> _tasks = new();
    readonly Dictionary<OlaTask, int> _offsets = new();
    readonly Device _device;

    public int Hidden { get; }
    public int NumTaskTokens => _config.NumTaskTokens;
    public IReadOnlyList<OlaTask> Order => _config.Tasks;
    /// Length of the whole task-token block in the sequence: numTasks · N.
    public int BlockLength => _config.Tasks.Count * _config.NumTaskTokens;

    public TaskTokens(OlaConfig config, int hidden, Device? device = null) : base(nameof(TaskTokens))
    {
        _config = config.Validate();
        Hidden = hidden;
        device ??= Devices.Default;
        _device = device;
        int n = config.NumTaskTokens;
        for (int i = 0; i < config.Tasks.Count; i++)
        {
            var task = config.Tasks[i];
            long rows = task == OlaTask.Gen ? Math.Max(n, 1) : config.Spec(task).NumTargetTokens;
            var p = new Parameter(randn(rows, hidden, device: device) * config.TaskTokenInitStd);
            _tasks.Add(task);
            _offsets[task] = i * n;
            register_parameter($"special_{task.Name()}_tokens", p);
        }
    }

    /// The full parameter of a task: [NumTargetTokens, hidden] for depth/seg (the predictor's queries),
    /// [max(N,1), hidden] for gen.
    public Parameter Query(OlaTask task) =>
        _tasks.Contains(task) ? Own($"special_{task.Name()}_tokens") : throw new KeyNotFoundException($"TaskTokens: task '{task.Name()}' is not in OlaConfig.Tasks [{string.Join(",", Order)}]");

    Parameter Own(string name) => named_parameters(recurse: false).First(p => p.name == name).parameter;

    /// Offset of a task's N tokens inside the task-token block.
    public int Offset(OlaTask task) =>
        _offsets.TryGetValue(task, out var o) ? o : throw new KeyNotFoundException($"TaskTokens: task '{task.Name()}' is not in OlaConfig.Tasks [{string.Join(",", Order)}]");

    /// The N embeddings of one task as they enter the sequence: [N, hidden].
    public Tensor SequenceTokens(OlaTask task)
    {
        var p = Query(task);
        int n = NumTaskTokens;
        if (n == 0) return p.narrow(0, 0, 0);
        if (task == OlaTask.Gen) return p;
        long rows = p.shape[0];
        if (rows % n != 0)
            throw new ShapeMismatchException($"TaskTokens: {task.Name()} has {rows} query rows, not divisible by N={n}");
        return p.view(n, rows / n, Hidden).mean([1]);
    }

    /// All task tokens in configured order: [numTasks · N, hidden]; insert right after the image tokens.
    public Tensor Sequence() =>
        BlockLength == 0 ? zeros(0, Hidden, device: _device)
                         : cat(Order.Select(SequenceTokens).ToArray(), 0);
}
