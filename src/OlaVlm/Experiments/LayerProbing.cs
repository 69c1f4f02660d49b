using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using OlaVlm.Core;
using OlaVlm.Eval;
using OlaVlm.Teachers;
using static TorchSharp.torch;

namespace OlaVlm.Experiments;

/// What to probe and how hard. Full: every layer; Quick: two layers (the first and the last) and a few
/// images, for CI. Cost (2-core CPU, miniature model, 102 tokens per layer): a probe fit runs at roughly
/// 70-300 samples/s, so Full (160 images × 8 epochs) takes ~5-20 s per layer per teacher.
/// Memory: the chosen layers' hidden states of all images are held at once (N × T × hidden floats per
/// layer); at full scale (576+ tokens × 4096) probe a few layers per call.
public sealed record LayerProbingConfig
{
    /// The fixed describe-the-image prompt every image is read under (rendered with the model's chat
    /// template and generation prompt).
    public string Prompt { get; init; } = "<image>\nDescribe the image.";
    /// 1-based layers to probe; null = every layer (or MaxLayers of them, evenly spaced).
    public IReadOnlyList<int>? Layers { get; init; }
    public int? MaxLayers { get; init; }
    /// Also probe "layer 0", the LLM's input (projected image tokens, task tokens, prompt embeddings), as the
    /// reference the layers are read against: level curves that sit at layer 0's value say the decoder passes the
    /// image's information through its residual stream, neither adding nor losing any (ProbeCurve.InputCosine).
    public bool ProbeInput { get; init; } = true;
    public int TrainImages { get; init; } = 160;
    public int ValImages { get; init; } = 48;
    /// Images per forward pass when extracting hidden states.
    public int ExtractBatchSize { get; init; } = 16;
    /// 8 epochs of 160 images = 80 steps, fit around the mean target (ProbeOptions.AroundMean). lr 3e-3, not the
    /// reference's 1e-3: at 1e-3 the probes took only 2-10 % of the room above the mean-target floor (found-10,
    /// main job), at 3e-3 up to 29 % (depth 11-29 %, seg 5-14 %, gen -1-11 %), with the arms' order unchanged.
    public ProbeOptions Probe { get; init; } = new() { Epochs = 8, LearningRate = 3e-3 };

    public static LayerProbingConfig Full => new();
    public static LayerProbingConfig Quick => new()
    {
        MaxLayers = 2, TrainImages = 24, ValImages = 12, Probe = new ProbeOptions { Epochs = 3, BatchSize = 12 },
    };

    /// LayersOf, with 0 (the LLM's input) first when ProbeInput is set.
    public IReadOnlyList<int> ProbedLayersOf(int numLayers) => ProbeInput ? [0, .. LayersOf(numLayers)] : LayersOf(numLayers);

    public IReadOnlyList<int> LayersOf(int numLayers)
    {
        if (Layers is not null)
        {
            var bad = Layers.Where(l => l < 1 || l > numLayers).ToList();
            if (bad.Count > 0) throw new ArgumentOutOfRangeException(nameof(Layers), $"LayerProbingConfig: layers {string.Join(",", bad)} outside 1..{numLayers}");
            return Layers.Distinct().Order().ToList();
        }
        var all = Enumerable.Range(1, numLayers).ToList();
        if (MaxLayers is not int k || k >= numLayers) return all;
        if (k < 2) return [numLayers];
        return Enumerable.Range(0, k).Select(i => 1 + (int)Math.Round(i * (numLayers - 1) / (double)(k - 1))).Distinct().ToList();
    }
}

/// One teacher's probe cosine at each probed layer of one model. Layer 0, when probed, is the LLM's input
/// (LayerProbingConfig.ProbeInput): a reference point, left out of the best layer and the mean over layers, which
/// summarise the decoder's layers (as the paper's curves and the probe ↔ accuracy correlation do).
public sealed record ProbeCurve(string Teacher, string TeacherHash, IReadOnlyList<int> Layers, IReadOnlyList<double> Cosines, double Seconds)
{
    public int BestLayer => Layers[BestIndex];
    public double BestCosine => Cosines[BestIndex];
    public double MeanCosine => DecoderIndices.Average(i => Cosines[i]);
    /// The probe cosine of the LLM's input (layer 0), or null when it was not probed.
    public double? InputCosine => Layers.Zip(Cosines).Where(lc => lc.First == 0).Select(lc => (double?)lc.Second).FirstOrDefault();
    IEnumerable<int> DecoderIndices => Enumerable.Range(0, Cosines.Count).Where(i => Layers[i] > 0);
    int BestIndex => DecoderIndices.MaxBy(i => Cosines[i]);
}

/// A row of the per-layer table (for a DataFrame or a line chart).
public sealed record LayerCosine(string Model, string Teacher, int Layer, double Cosine);

public sealed record LayerProbingResult(string Model, string ModelHash, IReadOnlyList<ProbeCurve> Curves)
{
    public ProbeCurve Curve(string teacher) => Curves.FirstOrDefault(c => c.Teacher == teacher)
        ?? throw new KeyNotFoundException($"probing result of '{Model}' has no teacher '{teacher}' (has {string.Join(", ", Curves.Select(c => c.Teacher))})");

    public IEnumerable<LayerCosine> Records() =>
        Curves.SelectMany(c => c.Layers.Select((l, i) => new LayerCosine(Model, c.Teacher, l, c.Cosines[i])));
}

/// Probing a frozen MLLM at every layer (the paper's Fig. 3/probe analysis): run each image through the
/// model under a fixed prompt, keep ALL tokens of every layer, and train one probe per layer per teacher
/// (Eval.Probe, the reference Resampler form; Eval.ProbeTrainer, smooth-L1) on train images; score it on
/// val images with the paper's cosine (Eval.ProbeMetric). Results are cached as JSON under
/// Paths.Out/probing, one file per model × teacher × config × images, so a notebook re-run only probes
/// what changed.
public static class LayerProbing
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
    // Part of every cache key (docs/history.md lists the versions).
    const string Version = "probe-3";

    public static LayerProbingResult Run(IHiddenStateSource model, IReadOnlyList<ITeacher> teachers, ProbeImages images,
        LayerProbingConfig config, Device? device = null, string? cacheDir = null, Action<string>? log = null)
    {
        if (teachers.Count == 0) throw new ArgumentException("LayerProbing.Run: no teachers");
        if (images.Train.shape[0] < config.TrainImages || images.Val.shape[0] < config.ValImages)
            throw new ArgumentException($"LayerProbing.Run: config wants {config.TrainImages} train / {config.ValImages} val images, got {images.Train.shape[0]} / {images.Val.shape[0]}");
        device ??= Devices.Default;
        cacheDir ??= Paths.OutDir("probing");
        TempFiles.Sweep(cacheDir, log);
        var layers = config.ProbedLayersOf(model.NumLayers);
        var curves = new ProbeCurve?[teachers.Count];
        var files = teachers.Select(t => CacheFile(cacheDir, model, t, images, config)).ToList();
        for (int i = 0; i < teachers.Count; i++)
            if (TryRead(files[i], log) is ProbeCurve c) { curves[i] = c; log?.Invoke($"{model.Name} / {teachers[i].Name}: cached ({files[i]})"); }
        if (curves.All(c => c is not null)) return new LayerProbingResult(model.Name, model.Hash, curves!);

        using var train = images.Train.narrow(0, 0, config.TrainImages);
        using var val = images.Val.narrow(0, 0, config.ValImages);
        using var teacherTrain = images.TeacherTrain.narrow(0, 0, config.TrainImages);
        using var teacherVal = images.TeacherVal.narrow(0, 0, config.ValImages);
        var sw = Stopwatch.StartNew();
        var (hTrain, mTrain) = Extract(model, train, layers, config);
        var (hVal, mVal) = Extract(model, val, layers, config);
        log?.Invoke($"{model.Name}: hidden states of {layers.Count} layers, {train.shape[0]}+{val.shape[0]} images, {Checked.Fmt(hTrain[0].shape)} per layer ({sw.Elapsed.TotalSeconds:0.0}s)");
        try
        {
            for (int i = 0; i < teachers.Count; i++)
            {
                if (curves[i] is not null) continue;
                var t = teachers[i];
                sw.Restart();
                using var yTrain = Targets(t, teacherTrain, config.ExtractBatchSize);
                using var yVal = Targets(t, teacherVal, config.ExtractBatchSize);
                var cos = new List<double>();
                for (int l = 0; l < layers.Count; l++)
                {
                    using var scope = NewDisposeScope();
                    var fit = ProbeTrainer.Fit(hTrain[l], yTrain, config.Probe, mTrain, device);
                    cos.Add(ProbeTrainer.Evaluate(fit, hVal[l], yVal, mVal));
                    fit.Probe.Dispose();
                    log?.Invoke($"{model.Name} / {t.Name} layer {layers[l]}: cosine {cos[^1]:F4}");
                }
                curves[i] = new ProbeCurve(t.Name, t.WeightsHash, layers, cos, sw.Elapsed.TotalSeconds);
                Write(files[i], curves[i]!);
            }
        }
        finally
        {
            foreach (var h in hTrain.Concat(hVal)) h.Dispose();
            mTrain?.Dispose(); mVal?.Dispose();
        }
        return new LayerProbingResult(model.Name, model.Hash, curves!);
    }

    /// What the probe metric gives a constant: the cosine of the train targets' mean with each val target, averaged
    /// over val images — a probe that reads nothing from the model and predicts the average target scores this.
    /// A teacher whose features share a large component across images (a depth map is mostly the floor's
    /// gradient) leaves little room above it, so a probe's cosine is read against this floor:
    /// Headroom(cos, floor) = (cos − floor) / (1 − floor) is the share of the room above it that the probe takes.
    public static double MeanTargetCosine(ITeacher teacher, ProbeImages images, LayerProbingConfig config)
    {
        if (images.TeacherTrain.shape[0] < config.TrainImages || images.TeacherVal.shape[0] < config.ValImages)
            throw new ArgumentException($"LayerProbing.MeanTargetCosine: config wants {config.TrainImages} train / {config.ValImages} val images, got {images.TeacherTrain.shape[0]} / {images.TeacherVal.shape[0]}");
        using var scope = NewDisposeScope();
        var yTrain = Targets(teacher, images.TeacherTrain.narrow(0, 0, config.TrainImages), config.ExtractBatchSize);
        var yVal = Targets(teacher, images.TeacherVal.narrow(0, 0, config.ValImages), config.ExtractBatchSize);
        var mean = yTrain.mean([0], keepdim: true).expand_as(yVal);
        return ProbeMetric.MeanCosine(mean, yVal);
    }

    /// The share of the room above `floor` that a cosine takes: 0 at the floor, 1 at a perfect prediction.
    public static double Headroom(double cosine, double floor) =>
        floor < 1 ? (cosine - floor) / (1 - floor) : throw new ArgumentOutOfRangeException(nameof(floor), $"LayerProbing.Headroom: floor {floor} leaves no room");

    /// The cache file of one model × teacher under this config and these images.
    public static string CacheFile(string dir, IHiddenStateSource model, ITeacher teacher, ProbeImages images, LayerProbingConfig config)
    {
        var key = $"{Version}|{model.Hash}|{teacher.WeightsHash}|{images.Hash}|{JsonSerializer.Serialize(config)}|layers={string.Join(",", config.ProbedLayersOf(model.NumLayers))}";
        var h = Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)))[..16].ToLowerInvariant();
        return Path.Combine(dir, $"{Safe(teacher.Name)}-{h}.json");
    }

    /// Hidden states of the chosen layers (0 = the LLM's input) for all images: per layer [N, T, D] on the CPU, and the mask.
    static (List<Tensor> Hidden, Tensor? Mask) Extract(IHiddenStateSource model, Tensor pixels, IReadOnlyList<int> layers, LayerProbingConfig config)
    {
        var perLayer = layers.Select(_ => new List<Tensor>()).ToList();
        var masks = new List<Tensor>();
        bool anyMask = false;
        long n = pixels.shape[0];
        try
        {
            for (long s = 0; s < n; s += config.ExtractBatchSize)
            {
                using var batch = pixels.narrow(0, s, Math.Min(config.ExtractBatchSize, n - s));
                using var states = model.HiddenStates(batch, config.Prompt);
                if (states.Layers.Count != model.NumLayers)
                    throw new InvalidOperationException($"{model.Name}: HiddenStates returned {states.Layers.Count} layers, expected {model.NumLayers}");
                if (layers.Contains(0) && states.Input is null)
                    throw new InvalidOperationException($"{model.Name}: HiddenStates gives no LLM input (layer 0); set LayerProbingConfig.ProbeInput = false to probe its layers alone");
                for (int l = 0; l < layers.Count; l++)
                    perLayer[l].Add((layers[l] == 0 ? states.Input! : states.Layers[layers[l] - 1]).to(float32).cpu().clone());
                var m = states.Mask?.cpu().to(ScalarType.Bool).clone() ?? ones(batch.shape[0], states.Layers[0].shape[1], dtype: ScalarType.Bool);
                anyMask |= states.Mask is not null;
                masks.Add(m);
            }
            if (masks.Select(m => m.shape[1]).Distinct().Count() > 1)
                throw new InvalidOperationException($"{model.Name}: hidden-state lengths differ between batches ({string.Join(",", masks.Select(m => m.shape[1]).Distinct())}); the probing prompt must render to one length");
            var hidden = perLayer.Select(parts => cat(parts, 0)).ToList();
            return (hidden, anyMask ? cat(masks, 0) : null);
        }
        finally
        {
            foreach (var t in perLayer.SelectMany(p => p).Concat(masks)) t.Dispose();
        }
    }

    static Tensor Targets(ITeacher teacher, Tensor pixels, int batchSize)
    {
        var parts = new List<Tensor>();
        for (long s = 0; s < pixels.shape[0]; s += batchSize)
        {
            using var scope = NewDisposeScope();
            var y = teacher.Encode(pixels.narrow(0, s, Math.Min(batchSize, pixels.shape[0] - s)));
            Checked.Shape(y, [-1, teacher.TargetShape[0], teacher.TargetShape[1]], $"{teacher.Name}.Encode output");
            parts.Add(y.to(float32).cpu().MoveToOuterDisposeScope());
        }
        try { return cat(parts, 0); }
        finally { foreach (var p in parts) p.Dispose(); }
    }

    // Cached with its SHA-256 (Training.CacheFile): a damaged file is reported and probed again.
    static ProbeCurve? TryRead(string file, Action<string>? log) =>
        Training.CacheFile.Read(file, text => JsonSerializer.Deserialize<ProbeCurve>(text, Json), log);

    static void Write(string file, ProbeCurve curve) => Training.CacheFile.WriteText(file, JsonSerializer.Serialize(curve, Json));

    static string Safe(string name) => string.Concat(name.Select(ch => char.IsLetterOrDigit(ch) || ch is '-' or '_' ? ch : '_'));
}
