using System.Security.Cryptography;
using System.Text.Json;
using OlaVlm.Core;
using OlaVlm.Eval;
using OlaVlm.Ola;

namespace OlaVlm.Experiments;

/// One configuration of a sweep. Config null = the LLaVA-1.5 baseline (no OLA heads, no task tokens).
/// Group names the knob being varied ("task tokens"), Name the value ("8").
public sealed record AblationVariant(string Group, string Name, OlaConfig? Config)
{
    public string Label => $"{Group}: {Name}";
}

/// What training + evaluating one variant at one seed measured: metric name → value (e.g. the
/// CvBenchScore records "Overall", "2D", "3D", "task/Count"), plus anything else the runner reports.
public sealed record AblationResult(string Group, string Variant, int Seed, IReadOnlyDictionary<string, double> Metrics)
{
    public static AblationResult FromScore(AblationVariant v, int seed, CvBenchScore score, IReadOnlyDictionary<string, double>? extra = null)
    {
        var m = score.Records().ToDictionary(r => r.Name, r => r.Accuracy);
        if (extra is not null) foreach (var (k, x) in extra) m[k] = x;
        return new AblationResult(v.Group, v.Name, seed, m);
    }
}

/// A row of the ablation table: one variant's metric over seeds (mean ± t-interval).
public sealed record AblationRow(string Group, string Variant, string Metric, double Mean, double HalfWidth, int Seeds, IReadOnlyList<double> Values);

/// A variant against the configuration it changes, seed by seed (variant − reference at the same seed): the seeds'
/// shared noise cancels, which an unpaired comparison of two means over three seeds cannot afford.
public sealed record AblationDifference(string Group, string Variant, string Metric, double Mean, double Lower, double Upper, double HalfWidth,
                                        int Seeds, IReadOnlyList<double> Values);

public sealed record AblationSweepResult(IReadOnlyList<AblationResult> Runs, IReadOnlyList<AblationRow> Table, int Reused, int Computed)
{
    public IEnumerable<AblationRow> Rows(string metric) => Table.Where(r => r.Metric == metric);

    /// Every variant's paired difference to the reference variant (default: OLA-VLM as configured), per metric, over
    /// the seeds both ran; the reference itself and the LLaVA-1.5 row are left out.
    public IReadOnlyList<AblationDifference> Paired(IEnumerable<string>? metrics = null, string group = "reference", string reference = "OLA-VLM")
    {
        var refRuns = Runs.Where(r => r.Group == group && r.Variant == reference).ToDictionary(r => r.Seed);
        if (refRuns.Count == 0) throw new ArgumentException($"AblationSweepResult.Paired: no runs of the reference '{group}: {reference}'");
        var rows = new List<AblationDifference>();
        foreach (var v in Runs.Where(r => r.Group != group).GroupBy(r => (r.Group, r.Variant)))
            foreach (var m in metrics ?? v.First().Metrics.Keys)
            {
                var diffs = v.Where(r => refRuns.ContainsKey(r.Seed) && r.Metrics.ContainsKey(m)).OrderBy(r => r.Seed)
                    .Select(r => r.Metrics[m] - refRuns[r.Seed].Metrics[m]).ToList();
                if (diffs.Count == 0) continue;
                var d = BenchEvaluation.Difference($"{v.Key.Group}: {v.Key.Variant}", m, diffs);
                rows.Add(new AblationDifference(v.Key.Group, v.Key.Variant, m, d.Mean, d.Lower, d.Upper, d.HalfWidth, d.Seeds, d.Values));
            }
        return rows;
    }
}

/// The paper's ablations as a sweep: each variant × seed is trained and evaluated by a delegate (the
/// experiment runner), its result cached as JSON keyed by the variant's CONFIG (not its name: the default
/// configuration appearing in several groups trains once), the seed and a caller tag that stands for
/// everything else the delegate depends on (world, model size, training settings).
public static class Ablations
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
    static readonly JsonSerializerOptions KeyJson = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// A cache tag from everything a runner depends on besides the variant and seed (world root, model
    /// config, teacher hashes, training config…): each part as JSON (strings as they are), hashed.
    public static string Tag(params object[] parts) =>
        Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join("|",
            parts.Select(p => p as string ?? JsonSerializer.Serialize(p, p.GetType(), KeyJson))))))[..16].ToLowerInvariant();

    /// The paper's ablation axes around `baseline`: layer choice, λ, contrastive term, task tokens
    /// (0/4/8/16), embedding loss in PT only vs PT+IFT, teacher subsets; plus the LLaVA-1.5 reference.
    public static IReadOnlyList<AblationVariant> Standard(OlaConfig baseline)
    {
        var v = new List<AblationVariant> { new("reference", "LLaVA-1.5", null), new("reference", "OLA-VLM", baseline) };
        foreach (var (name, layers) in new (string, int[]?)[] { ("paper", null), ("early {4,8}", [4, 8]), ("middle {16}", [16]), ("late {24,28}", [24, 28]) })
            v.Add(new("layers", name, layers is null ? baseline : WithLayers(baseline, layers)));
        foreach (var lambda in new[] { 0.1, 0.5, 1.0 })
            v.Add(new("lambda", lambda.ToString("0.0##", System.Globalization.CultureInfo.InvariantCulture), WithLambda(baseline, lambda)));
        foreach (var on in new[] { true, false })
            v.Add(new("contrastive", on ? "on" : "off", baseline with { UseContrastive = on }));
        // The paper's 0 / 8 / 16 per task around its 8: here 0, the ratio's value (the reference) and twice it.
        foreach (var n in new[] { 0, baseline.NumTaskTokens, 2 * baseline.NumTaskTokens }.Distinct())
            v.Add(new("task tokens", n.ToString(), baseline with { NumTaskTokens = n }));
        foreach (var ift in new[] { false, true })
            v.Add(new("embedding loss", ift ? "PT+IFT" : "PT only", baseline with { EmbeddingLossInFinetune = ift }));
        foreach (var tasks in new[] { new[] { OlaTask.Depth }, [OlaTask.Seg], [OlaTask.Gen], [OlaTask.Depth, OlaTask.Seg], [OlaTask.Gen, OlaTask.Depth, OlaTask.Seg] })
            v.Add(new("teachers", string.Join("+", tasks.Select(t => t.Name())), baseline with { Tasks = tasks }));
        return v;
    }

    /// The variants `selectors` name, with the reference pair always kept (every difference is paired to it). A selector
    /// is a group ("teachers") or one variant ("layers:late {24,28}"), case-insensitive, spaces around the colon
    /// ignored; one that names nothing is an error listing what there is, so a typo never runs a partial sweep unnoticed.
    public static IReadOnlyList<AblationVariant> Only(IReadOnlyList<AblationVariant> variants, IReadOnlyList<string> selectors)
    {
        static string Norm(string s) => string.Join(":", s.Split(':').Select(p => p.Trim())).ToLowerInvariant();
        var wanted = selectors.Select(Norm).ToList();
        var unknown = wanted.Where(w => !variants.Any(v => Norm(v.Group) == w || Norm(v.Label) == w)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"Ablations.Only: '{string.Join("', '", unknown)}' names no variant (there are: " +
                                        $"{string.Join("; ", variants.Where(v => v.Group != "reference").Select(v => v.Label))})");
        return variants.Where(v => v.Group == "reference" || wanted.Contains(Norm(v.Group)) || wanted.Contains(Norm(v.Label))).ToList();
    }

    /// The main job's sweep (and CI's): the reference pair and OLA-VLM without task tokens, reported as the paired
    /// difference to OLA-VLM over the main job's seeds. Every variant costs an OLA-VLM run per seed, so the main job
    /// trains this one: the task tokens are the part of OLA-VLM that changes what the LLM reads in every sequence,
    /// where the predictors only add a loss. The paper's other ablations are Standard (`OlaCheck ablations --paper`).
    public static IReadOnlyList<AblationVariant> Quick(OlaConfig baseline) =>
    [
        new("reference", "LLaVA-1.5", null), new("reference", "OLA-VLM", baseline),
        new("task tokens", "0", baseline with { NumTaskTokens = 0 }),
    ];

    /// Every task's predictor at the same paper-scale layers (scaled to the LLM's depth by OlaConfig.LayersFor).
    public static OlaConfig WithLayers(OlaConfig c, IReadOnlyList<int> paperLayers) =>
        c with { Specs = c.Specs.ToDictionary(kv => kv.Key, kv => kv.Value with { PaperLayers = paperLayers.ToArray() }) };

    /// λ (the embedding-loss weight) for every task.
    public static OlaConfig WithLambda(OlaConfig c, double lambda) =>
        c with { Specs = c.Specs.ToDictionary(kv => kv.Key, kv => kv.Value with { LossWeight = lambda }) };

    public static AblationSweepResult Run(IReadOnlyList<AblationVariant> variants, IReadOnlyList<int> seeds,
        Func<AblationVariant, int, AblationResult> trainAndEvaluate, string cacheTag, string? cacheDir = null,
        double level = 0.95, Action<string>? log = null)
    {
        if (variants.Count == 0 || seeds.Count == 0) throw new ArgumentException("Ablations.Run: no variants or no seeds");
        var dup = variants.GroupBy(v => v.Label).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"Ablations.Run: variant '{dup.Key}' is listed twice");
        cacheDir ??= Paths.OutDir("ablations");
        Directory.CreateDirectory(cacheDir);
        TempFiles.Sweep(cacheDir, log);
        var runs = new List<AblationResult>();
        int reused = 0, computed = 0;
        foreach (var v in variants)
            foreach (var seed in seeds)
            {
                var file = CacheFile(cacheDir, v, seed, cacheTag);
                AblationResult? r = Training.CacheFile.Read(file, text => JsonSerializer.Deserialize<AblationResult>(text, Json), log);
                if (r is not null)
                {
                    reused++;
                    log?.Invoke($"{v.Label} seed {seed}: cached");
                }
                else
                {
                    r = trainAndEvaluate(v, seed);
                    if (r.Seed != seed) throw new InvalidOperationException($"Ablations.Run: runner returned seed {r.Seed} for {v.Label} seed {seed}");
                    Training.CacheFile.WriteText(file, JsonSerializer.Serialize(r, Json));
                    computed++;
                    log?.Invoke($"{v.Label} seed {seed}: {string.Join(", ", r.Metrics.Take(3).Select(kv => $"{kv.Key} {kv.Value:F4}"))}");
                }
                // The cached result may come from an identical config listed under another name: label it as asked.
                runs.Add(r with { Group = v.Group, Variant = v.Name });
            }
        return new AblationSweepResult(runs, Table(variants, runs, level), reused, computed);
    }

    /// Mean ± t-interval per variant and metric (metrics every seed of the variant reported), in variant order.
    public static IReadOnlyList<AblationRow> Table(IReadOnlyList<AblationVariant> variants, IReadOnlyList<AblationResult> runs, double level = 0.95)
    {
        var rows = new List<AblationRow>();
        foreach (var v in variants)
        {
            var mine = runs.Where(r => r.Group == v.Group && r.Variant == v.Name).OrderBy(r => r.Seed).ToList();
            if (mine.Count == 0) continue;
            foreach (var metric in mine[0].Metrics.Keys.Where(k => mine.All(r => r.Metrics.ContainsKey(k))))
            {
                var row = BenchEvaluation.Row(v.Label, metric, mine.Select(r => r.Metrics[metric]).ToList(), level);
                rows.Add(new AblationRow(v.Group, v.Name, metric, row.Mean, row.HalfWidth, row.Seeds, row.Values));
            }
        }
        return rows;
    }

    public static string CacheFile(string dir, AblationVariant v, int seed, string cacheTag)
    {
        var config = v.Config is null ? "baseline" : JsonSerializer.Serialize(v.Config, KeyJson);
        var h = Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{cacheTag}|{config}|{seed}")))[..16].ToLowerInvariant();
        return Path.Combine(dir, $"{h}.json");
    }
}
