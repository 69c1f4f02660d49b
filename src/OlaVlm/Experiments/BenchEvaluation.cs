using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OlaVlm.Eval;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Experiments;

/// How the benchmark is run. Reference = CV-Bench's own parsing (an uppercase "(X)", else the first
/// character), used for the miniature too (its tokenizer keeps "(A)" as one upper-case token).
public sealed record BenchConfig
{
    /// Evaluate only the first N items (null = all).
    public int? MaxItems { get; init; }
    public int BatchSize { get; init; } = 16;
    public AnswerParsing Parsing { get; init; } = AnswerParsing.Reference;
    /// The image placeholder put in front of the item's prompt, as LLaVA's CV-Bench eval does.
    public string ImagePrefix { get; init; } = "<image>\n";

    public static BenchConfig Reference => new();
    /// Case-insensitive parsing ("(b)" counts as B): a diagnostic beside the reference score, for models
    /// whose tokenizer does not keep the choice letters' case.
    public static BenchConfig Lenient => new() { Parsing = AnswerParsing.Lenient };
}

/// A benchmark file and how to find its images: the world's bench.jsonl or the real CV-Bench test.jsonl
/// with its img/ folder. Same loader (World.CvBench) for both.
public sealed record BenchSet(string JsonlPath, IReadOnlyList<CvBenchItem> Items)
{
    /// maxItems keeps the FIRST items (as Stages.Experiment's BenchLimit): benchmark files are ordered by
    /// task, so a short prefix may miss whole tasks or a whole dimension (its score is then NaN).
    public static BenchSet Load(string jsonlPath, int? maxItems = null)
    {
        var items = CvBench.Load(jsonlPath);
        return new BenchSet(jsonlPath, maxItems is int n ? items.Take(n).ToList() : items);
    }

    public string ImagePath(CvBenchItem item) => CvBench.ImagePath(JsonlPath, item);
}

/// A model's metric over seeds: mean and Student-t interval (HalfWidth NaN with fewer than 2 seeds).
/// One row of the results table; Values are the per-seed numbers in seed order.
/// Min/Max: the range the metric can take (accuracies [0, 1], paired differences [−1, 1]); the interval is reported
/// inside it, since a t-interval over few seeds can reach past what an accuracy can be.
public sealed record BenchRow(string Model, string Metric, double Mean, double HalfWidth, int Seeds, IReadOnlyList<double> Values, double Level = 0.95,
                              double Min = 0, double Max = 1)
{
    public double Lower => Math.Clamp(Mean - HalfWidth, Min, Max);
    public double Upper => Math.Clamp(Mean + HalfWidth, Min, Max);
}

/// One scored run (a trained model at one seed, with or without images).
public sealed record BenchRun(string Model, int Seed, CvBenchScore Score);

/// CV-Bench-style evaluation: greedy replies for every item, parsed and scored exactly as Cambrian-1 /
/// OLA-VLM score CV-Bench (Eval.CvBenchScorer: per-source accuracy, 2D = mean of ADE20K and COCO, 3D =
/// Omni3D, overall = their mean), per-task accuracy alongside. Seeds are separate trainings: Aggregate
/// turns one score per seed into mean ± 95% t-interval per metric.
public static class BenchEvaluation
{
    /// Replies of `model` to every item (in item order). Blind: the prompt alone, no image, no placeholder.
    public static IReadOnlyList<string> Replies(IBenchAnswerer model, BenchSet bench, BenchConfig config, bool blind = false)
    {
        var items = config.MaxItems is int n ? bench.Items.Take(n).ToList() : bench.Items;
        var replies = new List<string>(items.Count);
        for (int s = 0; s < items.Count; s += config.BatchSize)
        {
            var chunk = items.Skip(s).Take(config.BatchSize).ToList();
            var prompts = chunk.Select(it => blind ? it.Prompt : config.ImagePrefix + it.Prompt).ToList();
            using var scope = NewDisposeScope();
            var pixels = blind ? null : LoadPixels(bench, chunk, model.ImageSize);
            var answers = model.Answer(prompts, pixels);
            if (answers.Count != chunk.Count)
                throw new InvalidOperationException($"{model.Name} answered {answers.Count} of {chunk.Count} prompts (items {chunk[0].Idx}..{chunk[^1].Idx})");
            replies.AddRange(answers);
        }
        return replies;
    }

    /// Replies scored with CvBenchScorer. With `cacheDir`, the replies are kept as JSON keyed by the model
    /// hash, the benchmark file's content, the prompt settings and blind, and re-scored from there on a
    /// re-run (the parsing mode is not part of the key: replies do not depend on it).
    public static CvBenchScore Evaluate(IBenchAnswerer model, BenchSet bench, BenchConfig config, bool blind = false, string? cacheDir = null)
    {
        var replies = CachedReplies(model, bench, config, blind, cacheDir);
        return CvBenchScorer.Score(bench.Items.Take(replies.Count).ToList(), replies, config.Parsing);
    }

    /// Replies as Replies(), read from / written to `cacheDir` when given.
    public static IReadOnlyList<string> CachedReplies(IBenchAnswerer model, BenchSet bench, BenchConfig config, bool blind = false, string? cacheDir = null)
    {
        string? file = cacheDir is null ? null : CacheFile(cacheDir, model, bench, config, blind);
        if (cacheDir is not null) Core.TempFiles.Sweep(cacheDir);
        // Cached with its SHA-256 (Training.CacheFile): a damaged file is reported and answered again.
        if (file is not null && Training.CacheFile.Read(file, text => JsonSerializer.Deserialize<List<string>>(text)) is { } cached) return cached;
        var replies = Replies(model, bench, config, blind);
        if (file is not null) Training.CacheFile.WriteText(file, JsonSerializer.Serialize(replies));
        return replies;
    }

    /// Share of replies that contain a parenthesised choice letter, "(B)" or "(b)": how often the model
    /// answers in the benchmark's format at all. Below 1, part of the score comes from the parser's
    /// first-character fallback (a reply "a cone" counts as choice A).
    public static double FormattedShare(IReadOnlyList<string> replies) =>
        replies.Count == 0 ? double.NaN : replies.Count(r => FormatRx.IsMatch(r)) / (double)replies.Count;

    static readonly System.Text.RegularExpressions.Regex FormatRx = new(@"\([A-Za-z]\)");

    public static string CacheFile(string dir, IBenchAnswerer model, BenchSet bench, BenchConfig config, bool blind)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(File.ReadAllBytes(bench.JsonlPath));
        var prompting = config with { Parsing = AnswerParsing.Reference };
        sha.AppendData(Encoding.UTF8.GetBytes($"|{model.Hash}|{JsonSerializer.Serialize(prompting)}|blind={blind}|items={bench.Items.Count}"));
        return Path.Combine(dir, $"replies-{Convert.ToHexString(sha.GetHashAndReset())[..16].ToLowerInvariant()}.json");
    }

    /// The world's text-only prior (World.BlindBaseline: answer statistics learned on `train` items, no
    /// image, no model) scored on the benchmark: the floor a model must clear to have used the image.
    public static CvBenchScore TextPrior(IEnumerable<CvBenchItem> train, BenchSet bench, BenchConfig config)
    {
        var items = config.MaxItems is int n ? bench.Items.Take(n).ToList() : bench.Items;
        var prior = BlindBaseline.Train(train);
        return CvBenchScorer.Score(items, items.Select(prior.Predict).ToList(), config.Parsing);
    }


    /// Mean and t-interval per metric (Overall, 2D, 3D, task/…, source/…) over one score per seed.
    public static IReadOnlyList<BenchRow> Aggregate(string model, IReadOnlyList<CvBenchScore> perSeed, double level = 0.95)
    {
        if (perSeed.Count == 0) throw new ArgumentException($"BenchEvaluation.Aggregate '{model}': no scores");
        var names = perSeed[0].Records().Select(r => r.Name).ToList();
        var rows = new List<BenchRow>();
        foreach (var name in names)
        {
            var values = perSeed.Select((s, i) => s.Records().FirstOrDefault(r => r.Name == name)?.Accuracy
                ?? throw new ArgumentException($"BenchEvaluation.Aggregate '{model}': seed #{i} has no metric '{name}'")).ToList();
            rows.Add(Row(model, name, values, level));
        }
        return rows;
    }

    /// Mean ± t-interval of any per-seed values (NaN half-width below 2 values, as no interval exists).
    public static BenchRow Row(string model, string metric, IReadOnlyList<double> values, double level = 0.95)
    {
        if (values.Count >= 2)
        {
            var ci = Stats.TInterval(values, level);
            return new BenchRow(model, metric, ci.Mean, ci.HalfWidth, values.Count, values, level);
        }
        return new BenchRow(model, metric, Stats.Mean(values), double.NaN, values.Count, values, level);
    }

    /// A paired difference (e.g. OLA-VLM − LLaVA-1.5 per seed): mean ± t-interval, reported inside [−1, 1].
    public static BenchRow Difference(string model, string metric, IReadOnlyList<double> values, double level = 0.95) =>
        Row(model, metric, values, level) with { Min = -1 };

    /// Aggregates runs grouped by model name (e.g. "baseline", "OLA-VLM", "baseline (blind)").
    public static IReadOnlyList<BenchRow> Aggregate(IEnumerable<BenchRun> runs, double level = 0.95) =>
        runs.GroupBy(r => r.Model).SelectMany(g => Aggregate(g.Key, g.OrderBy(r => r.Seed).Select(r => r.Score).ToList(), level)).ToList();

    static Tensor LoadPixels(BenchSet bench, IReadOnlyList<CvBenchItem> items, int size)
    {
        var images = new List<SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>>();
        try
        {
            foreach (var it in items) images.Add(ImageLoader.Load(bench.ImagePath(it)));
            return ImageTensors.FromImages(images, size, CPU);
        }
        finally { foreach (var im in images) im.Dispose(); }
    }
}
