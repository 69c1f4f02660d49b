using System.Text.Json;
using System.Text.Json.Nodes;
using OlaVlm.Data;
using OlaVlm.Data.Layouts;
using OlaVlm.Model;
using OlaVlm.Ola;
using OlaVlm.Text;
using OlaVlm.Training;
using OlaVlm.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace OlaVlm.Eval;

/// One CV-Bench question of the release with where its image is: a file under the release folder (the JSONL
/// layout) or the encoded bytes a parquet row carries.
public sealed record CvBenchQuestion(CvBenchItem Item, string? ImagePath, byte[]? ImageBytes)
{
    public Image<Rgb24> LoadImage()
    {
        if (ImagePath is string p) return ImageLoader.Load(p);
        try { return Image.Load<Rgb24>(ImageBytes!); }
        catch (Exception e) { throw new ImageLoadException($"CV-Bench idx {Item.Idx}: the parquet image could not be decoded: {e.Message}", e); }
    }
}

/// CV-Bench as OLA-VLM evaluates a trained model (ola_vlm/eval/model_cvbench_loader.py, then eval_cv_bench.py):
/// each item's prompt + the reference's instruction ("Only answer the option as the output…") after "<image>\n"
/// in the chat template, the image through the tower's processor (LLaVA's process_images: padded to a square),
/// greedy decoding up to 128 new tokens, the reply stripped; then scored as CvBenchScorer scores (2D = mean of the
/// ADE20K and COCO accuracies, 3D = Omni3D's, overall = their mean). Replies go to cv-bench_answer.jsonl as they
/// come, one line per item, so an interrupted evaluation goes on from where it stopped; the scores go to
/// cv-bench_answer_score.json with the reference's keys.
public static class CvBenchRun
{
    public const string ReferenceSuffix = "\nOnly answer the option as the output. For example, if your answer is the option A, answer (A).";
    public const string AnswersFile = "cv-bench_answer.jsonl", ScoreFile = "cv-bench_answer_score.json";

    /// The release under `root`: test.jsonl (or test_2d/test_3d.jsonl) with img/, else its parquet files.
    /// limit: the first N items (in idx order).
    public static List<CvBenchQuestion> Load(string root, int? limit = null)
    {
        bool jsonl = CvBenchRelease.JsonlNames.Any(n => File.Exists(Path.Combine(root, n)));
        var all = jsonl
            ? CvBenchRelease.Load(root).Rows.Select(r => new CvBenchQuestion(r.Item, CvBench.ImagePath(Path.Combine(root, "test.jsonl"), r.Item), null))
            : CvBenchParquet.Files(root).SelectMany(f => CvBenchParquet.Read(f)).Select(r => new CvBenchQuestion(r.Row.Item, null, r.Image));
        var items = all.OrderBy(q => q.Item.Idx).ToList();
        return limit is int n ? items.Take(n).ToList() : items;
    }

    /// Answers every item not yet in `outDir`'s answers file, then scores them all.
    public static CvBenchScore Run(OlaVlmModel model, ITokenizer tok, ChatTemplate template, TowerImageProcessor processor,
                                   IReadOnlyList<CvBenchQuestion> items, string outDir, Device device, int maxNewTokens = 128,
                                   int batchSize = 1, AnswerParsing parsing = AnswerParsing.Reference, IProgressReporter? progress = null)
    {
        Directory.CreateDirectory(outDir);
        var file = Path.Combine(outDir, AnswersFile);
        var answers = ReadAnswers(file);
        var todo = items.Where(q => !answers.ContainsKey(q.Item.Idx)).ToList();
        var opts = new GenerationOptions(MaxNewTokens: maxNewTokens, StopTokenId: template.StopId(tok), PadTokenId: tok.PadId);
        progress ??= Progress.Factory();
        progress.Start(items.Count, "CV-Bench");
        model.eval();
        for (int start = 0; start < todo.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var part = todo.Skip(start).Take(batchSize).ToList();
            var prompts = part.Select(q => template.Render(tok, [new ChatTurn(ChatRole.User, "<image>\n" + q.Item.Prompt + ReferenceSuffix)], addGenerationPrompt: true).Ids).ToList();
            var images = part.Select(q => q.LoadImage()).ToList();
            Tensor pixels;
            try { pixels = processor.Pixels(images, device); } finally { foreach (var im in images) im.Dispose(); }
            var replies = model.Generate(prompts, pixels, opts).Select(ids => tok.Decode(ids).Trim()).ToList();
            File.AppendAllLines(file, part.Zip(replies, (q, r) => Line(q.Item, r)));
            for (int i = 0; i < part.Count; i++) answers[part[i].Item.Idx] = replies[i];
            progress.Report(items.Count - todo.Count + start + part.Count, $"idx {part[^1].Item.Idx}: {Short(replies[^1])}");
        }
        var score = CvBenchScorer.Score(items.Select(q => q.Item).ToList(), items.Select(q => answers[q.Item.Idx]).ToList(), parsing);
        progress.Finish($"overall {score.Overall:F4} (2D {score.Accuracy2D:F4}, 3D {score.Accuracy3D:F4})");
        File.WriteAllText(Path.Combine(outDir, ScoreFile), ScoreJson(score).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return score;
    }

    static string Short(string s) => s.Length <= 40 ? s : s[..40] + "…";

    /// One answers line, the fields model_cvbench_loader.py writes (plus idx and type).
    static string Line(CvBenchItem it, string prediction) => new JsonObject
    {
        ["idx"] = it.Idx, ["prediction"] = prediction, ["answer"] = it.Answer, ["question"] = it.Prompt,
        ["source"] = it.Source, ["task"] = it.Task, ["type"] = it.Type,
    }.ToJsonString();

    /// The answers already written: idx → reply. A line cut short by an interruption (the last one) is dropped, and the
    /// file rewritten without it.
    public static Dictionary<int, string> ReadAnswers(string file)
    {
        var answers = new Dictionary<int, string>();
        if (!File.Exists(file)) return answers;
        var good = new List<string>();
        foreach (var line in File.ReadAllLines(file))
        {
            try
            {
                var j = JsonNode.Parse(line)!;
                answers[j["idx"]!.GetValue<int>()] = j["prediction"]!.GetValue<string>();
                good.Add(line);
            }
            catch (Exception e) when (e is JsonException or NullReferenceException or InvalidOperationException) { }
        }
        if (good.Count != File.ReadLines(file).Count()) File.WriteAllLines(file, good);
        return answers;
    }

    /// eval_cv_bench.py's scores (Overall, 3D, 2D, Count, Depth, Relation, Distance), and each source's accuracy.
    public static JsonObject ScoreJson(CvBenchScore s)
    {
        var j = new JsonObject { ["Overall"] = Num(s.Overall), ["3D"] = Num(s.Accuracy3D), ["2D"] = Num(s.Accuracy2D) };
        foreach (var t in new[] { "Count", "Depth", "Relation", "Distance" })
            if (s.ByTask.TryGetValue(t, out var m)) j[t] = m.Accuracy;
        foreach (var m in s.BySource.Values.OrderBy(m => m.Name)) j["source/" + m.Name] = m.Accuracy;
        j["items"] = s.Items.Count;
        return j;
    }

    /// A dimension without items scores NaN, which JSON cannot hold: null.
    static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;
}
