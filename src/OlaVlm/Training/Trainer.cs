using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Training;

/// The training loop, model-agnostic: the caller's step function builds a micro-batch and returns its
/// loss; the Trainer does the rest (nanoGPT's train.py, as a class).
///   per step: seed torch from (seed, step) -> set lr -> zero_grad -> GradAccum x (loss/GradAccum).backward()
///             -> clip -> AdamW step -> log / eval / checkpoint
/// (Gradients are zeroed at the start of a step, so after Run they still hold the last step's, clipped.)
/// bf16 (TrainConfig.Bf16Weights): steps run in a Core.Bf16Matmul scope (oneDNN's bf16 matmul); with
/// Fp32MasterWeights the optimizer updates fp32 copies (MasterWeights): gradients move onto them after every
/// micro-batch, clipping and AdamW act on them, and the model gets the rounded copies after the step.
/// Determinism: torch is reseeded from TrainConfig.StepSeed(seed, step) at the start of every step,
/// so dropout and any torch sampling inside the step are a function of (seed, step); resuming needs
/// no saved generator state and replays the uninterrupted run exactly. Data order is the caller's:
/// derive it from (seed, step, microStep) too. (On CUDA, bit-exact replay also needs deterministic
/// kernels; the seeding side is handled here.)
/// Interruption: between steps the loop polls Core.Interrupt (a notebook cell's interrupt, the runner's cell timeout,
/// Ctrl+C); when asked it checkpoints and throws TrainingInterruptedException, so a rerun resumes where it stopped.
/// Checkpoints come every CheckpointEvery steps and every CheckpointMinutes of work; they change no number.
/// Usage: Stages.Stage.Run (freeze → ParamGroups → Trainer with a step function → Resume → Run).
public sealed class Trainer : IDisposable
{
    readonly nn.Module _model;
    readonly Func<int, int, LossParts> _step;
    readonly Parameter[] _trainable;
    readonly string[] _groupNames;
    readonly MasterWeights? _masters;

    public TrainConfig Config { get; }
    public ParamGroups Groups { get; }
    public AdamW Optimizer { get; }
    public LrSchedule Schedule { get; }
    public string RunDir { get; }
    public MetricsLog Metrics { get; }
    public MetricsLog EvalMetrics { get; }
    /// Optimizer steps completed (after Resume: the checkpoint's step).
    public int Step { get; private set; }
    public List<StepRecord> History { get; } = [];
    /// Called every EvalEvery steps and at the end, under no_grad with the model in eval mode;
    /// returns named numbers, logged to eval.jsonl/csv.
    public Func<int, IReadOnlyDictionary<string, double>>? Eval { get; init; }
    /// Null: Progress.Factory().
    public IProgressReporter? Progress { get; init; }
    public string Title { get; init; } = "train";
    /// Where resume decisions are reported (a damaged checkpoint skipped, rows of an earlier attempt dropped). Null: the console.
    public Action<string>? Log { get; init; }

    int _savedStep = -1;
    readonly Stopwatch _sinceCheckpoint = new();

    public Trainer(nn.Module model, ParamGroups groups, TrainConfig config, ITrainStep step)
        : this(model, groups, config, step.Loss) { }

    public Trainer(nn.Module model, ParamGroups groups, TrainConfig config, Func<int, int, LossParts> step)
    {
        config.Validate();
        _model = model; _step = step; Config = config; Groups = groups;
        _trainable = groups.Trainable.ToArray();
        _groupNames = groups.Groups.Select(g => g.Name).ToArray();
        groups.CheckDtype(config);
        if (config.Fp32MasterWeights) _masters = new MasterWeights(_trainable);
        Optimizer = groups.CreateAdamW(config, _masters is null ? null : _masters.Of);
        Schedule = LrSchedule.From(config);
        RunDir = config.OutputDir ?? Core.Paths.OutDir("runs", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        Directory.CreateDirectory(RunDir);
        Metrics = new MetricsLog(RunDir, "metrics");
        EvalMetrics = new MetricsLog(RunDir, "eval");
    }

    /// Continues from a checkpoint folder (null: the run's newest complete one, RunCheckpoint.Find). False when there is none.
    public bool Resume(string? checkpointDir = null)
    {
        checkpointDir ??= RunCheckpoint.Find(RunDir, Report);
        if (checkpointDir == null) return false;
        var state = RunCheckpoint.ReadState(checkpointDir);
        if (!state.Groups.SequenceEqual(_groupNames))
            throw new InvalidDataException($"Checkpoint {checkpointDir}: optimizer groups [{string.Join(", ", state.Groups)}] " +
                                           $"differ from this trainer's [{string.Join(", ", _groupNames)}]");
        RunCheckpoint.LoadModel(_model, Path.Combine(checkpointDir, RunCheckpoint.ModelFile), state.Config.CheckpointTrainableOnly);
        RunCheckpoint.LoadOptimizer(Optimizer, Path.Combine(checkpointDir, RunCheckpoint.OptimizerFile));
        // The fp32 copies as saved (a checkpoint without them: rounded from the model, the best there is).
        _masters?.Load(RunCheckpoint.LoadMasters(checkpointDir, TrainableNames()));
        Step = _savedStep = state.Step;
        Report($"{Title}: resuming from {checkpointDir} (step {Step} of {Config.Steps})");
        Metrics.TruncateTo((state.MetricsJsonl, state.MetricsCsv));
        EvalMetrics.TruncateTo((state.EvalJsonl, state.EvalCsv));
        return true;
    }

    /// Trains until Config.Steps (or until `stopAfter` steps are completed), then checkpoints.
    public IReadOnlyList<StepRecord> Run(int? stopAfter = null)
    {
        int end = Math.Min(Config.Steps, stopAfter ?? Config.Steps);
        var progress = Progress ?? Training.Progress.Factory();
        progress.Start(Config.Steps, Title);
        var sinceLog = new List<StepRecord>();
        if (Step == 0 && History.Count == 0) { Metrics.Reset(Report); EvalMetrics.Reset(Report); }
        using var listening = Core.Interrupt.Listen();
        _sinceCheckpoint.Restart();
        _model.train();
        try
        {
            while (Step < end)
            {
                if (Core.Interrupt.Requested) throw Interrupted();
                var rec = TrainStep(Step);
                Step++;
                History.Add(rec); sinceLog.Add(rec);
                progress.Report(Step, rec.Describe());
                if (Step % Config.LogEvery == 0 || Step == end) { LogRow(sinceLog); sinceLog.Clear(); }
                if (Eval != null && ((Config.EvalEvery > 0 && Step % Config.EvalEvery == 0) || Step == Config.Steps)) RunEval();
                if ((Config.CheckpointEvery > 0 && Step % Config.CheckpointEvery == 0) || Step == end || TimeToCheckpoint) SaveCheckpoint();
            }
        }
        catch (Exception e)
        {
            progress.Finish("stopped: " + e.Message); // leave the in-place line finished, not half-drawn
            throw;
        }
        progress.Finish(History.Count > 0 ? History[^1].Describe() : $"nothing to do (step {Step} of {Config.Steps})");
        return History;
    }

    bool TimeToCheckpoint => Config.CheckpointMinutes > 0 && _sinceCheckpoint.Elapsed.TotalMinutes >= Config.CheckpointMinutes;

    /// Stops between steps: checkpoints what was trained since the last checkpoint, so a rerun resumes here.
    TrainingInterruptedException Interrupted()
    {
        var saved = Step > _savedStep && Step > 0 ? SaveCheckpoint() : RunCheckpoint.Latest(RunDir);
        Core.Interrupt.Clear();
        var what = saved is null ? "nothing was trained yet" : $"checkpoint {saved} holds step {Step}: run it again to resume from there";
        return new TrainingInterruptedException(Step, Config.Steps, saved, $"{Title}: interrupted after step {Step} of {Config.Steps}; {what}");
    }

    void Report(string line) => (Log ?? Console.WriteLine)(line);

    /// One optimizer step. bf16 steps run in a Bf16Matmul scope: oneDNN's bf16 matmul, not ATen's slow kernel.
    StepRecord TrainStep(int step) => Core.Bf16Matmul.Run(Config.WeightDtype, () => TrainStepCore(step));

    StepRecord TrainStepCore(int step)
    {
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        Core.Devices.ManualSeedAll(TrainConfig.StepSeed(Config.Seed, step));
        var lrs = Schedule.Apply(Optimizer, step);
        Optimizer.zero_grad();

        int k = Config.GradAccum, samples = 0;
        double loss = 0;
        var parts = new Dictionary<string, double>();
        for (int micro = 0; micro < k; micro++)
        {
            // A scope per micro-batch: its activations go as soon as its gradients are accumulated.
            using var microScope = NewDisposeScope();
            var lp = _step(step, micro);
            double value = lp.Loss.ToDouble();
            CheckFinite(step, micro, "loss", value);
            foreach (var (name, t) in lp.Parts)
            {
                double v = t.ToDouble();
                CheckFinite(step, micro, name, v);
                parts[name] = parts.GetValueOrDefault(name) + v / k;
            }
            loss += value / k;
            samples += lp.Samples ?? Config.BatchSize;
            if (!lp.Loss.requires_grad)
                throw new InvalidOperationException($"Trainer step {step + 1}: the loss does not require grad " +
                    "(does it depend on any trainable parameter, or was it computed under no_grad?)");
            // Mean of micro-batch means: k micro-batches of B equal one batch of k*B.
            (lp.Loss / k).backward();
            _masters?.AccumulateGradients();   // fp32 sums across micro-batches
        }

        var clipped = _masters?.Masters ?? (IEnumerable<Parameter>)_trainable;
        double norm = nn.utils.clip_grad_norm_(clipped, Config.MaxGradNorm > 0 ? Config.MaxGradNorm : double.PositiveInfinity);
        if (!double.IsFinite(norm))
            throw NonFinite(step, "grad_norm", norm, $"first non-finite gradient: {FirstBadGradient() ?? "?"}");
        Optimizer.step();
        _masters?.CopyToModel();
        return new StepRecord(step + 1, loss, parts, norm, lrs, clock.Elapsed.TotalSeconds, samples);
    }

    void CheckFinite(int step, int micro, string part, double value)
    {
        if (!double.IsFinite(value)) throw NonFinite(step, part, value, $"micro-batch {micro}");
    }

    NonFiniteLossException NonFinite(int step, string part, double value, string where)
    {
        var last = RunCheckpoint.Latest(RunDir);
        return new NonFiniteLossException(step + 1, part, value,
            $"Training stopped at step {step + 1} (0-based {step}, {where}): '{part}' is {value}. " +
            $"No update was applied and nothing was written; last good checkpoint: {last ?? "none"}.");
    }

    string? FirstBadGradient()
    {
        foreach (var g in Groups.Groups)
            foreach (var (name, p) in g.Params)
            {
                using var grad = (_masters?.Of(p) ?? p).grad;
                if (grad is not null && !isfinite(grad).all().ToBoolean()) return name;
            }
        return null;
    }

    void LogRow(List<StepRecord> recs) => Metrics.Append(StepRecord.Row(recs, _groupNames));

    void RunEval()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _model.eval();
        try
        {
            var results = Core.Bf16Matmul.Run(Config.WeightDtype, () => Eval!(Step));
            EvalMetrics.Append(new[] { new KeyValuePair<string, double>("step", Step) }.Concat(results));
        }
        finally { _model.train(); }
    }

    /// Writes a checkpoint for the current step (also done automatically, see TrainConfig).
    public string SaveCheckpoint()
    {
        var (mj, mc) = Metrics.Position;
        var (ej, ec) = EvalMetrics.Position;
        var state = new TrainerState(Step, Config.Seed, Config, _groupNames, mj, mc, ej, ec,
                                     History.Count > 0 ? History[^1].Loss : double.NaN, DateTime.UtcNow);
        var masters = _masters is null ? null : TrainableNames().Zip(_masters.Masters, (n, m) => (n, (Tensor)m)).ToDictionary(x => x.n, x => x.Item2);
        var dir = RunCheckpoint.Save(RunDir, _model, Optimizer, state, Config.CheckpointTrainableOnly, Config.KeepCheckpoints, masters);
        _savedStep = Step;
        _sinceCheckpoint.Restart();
        return dir;
    }

    /// The trainable parameters' names, in the optimizer's order.
    IReadOnlyList<string> TrainableNames() => Groups.Groups.SelectMany(g => g.Params.Select(p => p.Name)).ToList();

    public void Dispose() { Optimizer.Dispose(); _masters?.Dispose(); }
}
