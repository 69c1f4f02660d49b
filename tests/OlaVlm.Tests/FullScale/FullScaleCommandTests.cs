using System.Text.Json.Nodes;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.FullScale;

/// `OlaCheck fullscale` end to end on tiny random checkpoints in the released layouts and the hand-made dataset samples,
/// as a child process, stopped part-way and resumed: it must leave a CV-Bench score, a checkpoint that loads back and
/// answers as the run did, and each step trained exactly once.
public class FullScaleCommandTests(ITestOutputHelper output)
{
    const string Tiny = "pt-batch=1 pt-accum=1 ift-batch=2 ift-accum=1 checkpoint-every=1 max-new-tokens=6";

    static string[] Args(string outDir, params string[] more) => [.. TinyCheckpoints.Inputs.Args(outDir), .. Tiny.Split(' '), .. more];

    (int, string) Run(string[] args)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var (code, text) = TinyCheckpoints.RunCommand(args);
        output.WriteLine($"--- exit {code} after {sw.Elapsed.TotalSeconds:F1} s\n{text}");
        return (code, text);
    }

    static List<int> LoggedSteps(string runDir) => File.ReadAllLines(Path.Combine(runDir, "metrics.jsonl"))
        .Select(l => JsonNode.Parse(l)!["step"]!.GetValue<int>()).ToList();

    static List<string> MetricsRows(string runDir) => File.ReadAllLines(Path.Combine(runDir, "metrics.jsonl"))
        .Select(l => { var j = JsonNode.Parse(l)!.AsObject(); j.Remove("sec_per_step"); j.Remove("samples_per_s"); return j.ToJsonString(); }).ToList();

    /// A subset (--limit 3: PT's 3 images, the mix's first 3 records), so the targets are cached; stopped after PT
    /// step 2 and resumed, it must log exactly what the run that never stopped logs, and leave a LLaVA folder that loads.
    [Fact]
    public void OlaVlmStoppedInPtResumesExactlyToAScoreAndALoadableCheckpoint()
    {
        var whole = TestFiles.TempDir("fullscale", "ola-whole");
        var (code0, text0) = Run(Args(whole, "--limit", "3"));
        Assert.True(code0 == 0, text0);
        var outDir = TestFiles.TempDir("fullscale", "ola-resumed");
        var (code1, text1) = Run(Args(outDir, "--limit", "3", "stop=pt:2"));
        Assert.True(code1 == 3, text1);
        Assert.Contains("teacher targets: cached, a subset that fits", text1);
        Assert.Contains("stopped at Pretrain step 2 of 3", text1);
        var (code2, text2) = Run(Args(outDir, "--limit", "3"));
        Assert.True(code2 == 0, text2);

        Assert.Equal([1, 2, 3], LoggedSteps(Path.Combine(outDir, "pt", "run")));
        Assert.Equal([1], LoggedSteps(Path.Combine(outDir, "ift", "run")));   // 3 records at batch 2
        foreach (var stage in new[] { "pt", "ift" })
            Assert.Equal(MetricsRows(Path.Combine(whole, stage, "run")), MetricsRows(Path.Combine(outDir, stage, "run")));
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")))!;
        var score = summary["cv_bench"]!;
        Assert.Equal(4, score["items"]!.GetValue<int>());
        Assert.InRange(score["Overall"]!.GetValue<double>(), 0, 1);
        Assert.Equal((score["2D"]!.GetValue<double>() + score["3D"]!.GetValue<double>()) / 2, score["Overall"]!.GetValue<double>(), 1e-12);
        Assert.Equal(File.ReadAllText(Path.Combine(whole, "cv-bench", CvBenchRun.AnswersFile)), File.ReadAllText(Path.Combine(outDir, "cv-bench", CvBenchRun.AnswersFile)));
        AnswersAgain(outDir, Path.Combine(outDir, "final"), lora: false);

        // --eval-only scores a saved folder without training: the same replies again.
        var evalDir = TestFiles.TempDir("fullscale", "eval-only");
        var inputs = TinyCheckpoints.Inputs;
        var (code3, text3) = Run(["--eval-only", Path.Combine(outDir, "final"), "--llm", inputs.Llm, "--vision", inputs.Vision,
                                  "--cvbench", inputs.CvBench, "--out", evalDir, "max-new-tokens=6"]);
        Assert.True(code3 == 0, text3);
        Assert.Equal(File.ReadAllText(Path.Combine(outDir, "cv-bench", CvBenchRun.AnswersFile)), File.ReadAllText(Path.Combine(evalDir, "cv-bench", CvBenchRun.AnswersFile)));
    }

    /// All records (PT's 3 images: the targets on the fly, the full-scale default), LoRA in IFT over the whole mix
    /// (7 records, one text-only: 3 steps at batch 2), stopped after IFT step 2 and resumed; the adapters in PEFT's
    /// layout on top of the PT folder must load and answer as the run did.
    [Fact]
    public void LoraStoppedInIftResumesToAdaptersInPeftLayout()
    {
        var outDir = TestFiles.TempDir("fullscale", "ola-lora");
        var (code1, text1) = Run(Args(outDir, "--lora", "stop=ift:2"));
        Assert.True(code1 == 3, text1);
        Assert.Contains("teacher targets: on the fly, the full-scale default", text1);
        Assert.Contains("7 records (6 with an image)", text1);
        var (code2, text2) = Run(Args(outDir, "--lora"));
        Assert.True(code2 == 0, text2);
        Assert.Equal([1, 2, 3], LoggedSteps(Path.Combine(outDir, "ift", "run")));
        var final = Path.Combine(outDir, "final");
        foreach (var f in new[] { LoraCheckpoint.ConfigFile, LoraCheckpoint.AdapterFile, LoraCheckpoint.NonLoraFile, "config.json" })
            Assert.True(File.Exists(Path.Combine(final, f)), $"{f} missing in {final}");
        Assert.Equal(128, LoraCheckpoint.ReadConfig(final).R);
        AnswersAgain(outDir, final, lora: true);
    }

    /// Loads the final checkpoint in this process and answers CV-Bench again: the replies must be the run's.
    static void AnswersAgain(string outDir, string final, bool lora)
    {
        var inputs = TinyCheckpoints.Inputs;
        var (tok, template) = PretrainedTokenizer.Load(inputs.Llm);
        using var model = OlaPretrained.Load(lora ? Path.Combine(outDir, "pt", "model") : final, inputs.Vision, tok.ImageId, CPU);
        if (lora) LoraCheckpoint.Load(model.Llava, final);
        Assert.NotNull(model.Heads);
        var again = TestFiles.TempDir("fullscale", "answers-again");
        var processor = TowerImageProcessor.For(model.Llava.Config, inputs.Vision, padToSquare: true);
        CvBenchRun.Run(model, tok, template, processor, CvBenchRun.Load(inputs.CvBench), again, CPU, maxNewTokens: 6, progress: new SilentProgress());
        var run = CvBenchRun.ReadAnswers(Path.Combine(outDir, "cv-bench", CvBenchRun.AnswersFile));
        var mine = CvBenchRun.ReadAnswers(Path.Combine(again, CvBenchRun.AnswersFile));
        Assert.Equal(4, run.Count);
        Assert.Equal(run.OrderBy(kv => kv.Key), mine.OrderBy(kv => kv.Key));
    }
}
