using OlaVlm.Data;
using OlaVlm.Foundation;
using OlaVlm.Model;
using OlaVlm.Stages;
using OlaVlm.Text;
using OlaVlm.World;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Diagnostics;

/// Diagnostics of the "everything at chance" result of the full profile. They read a full-profile run
/// (OLA_OUT with world + models already built; set DIAG_MODEL to a trained arm's model.safetensors) and
/// print figures; they are skipped when no such run is there.
[Trait("Category", "Perf")]
public class BenchDiagnostics(ITestOutputHelper output)
{
    static (WorldData World, MiniFoundation Mini)? FullRun()
    {
        // Only an already-built full world and foundation: never build or train them here.
        var worldHash = MiniWorld.ConfigHash(new WorldConfig());
        var foundation = new FoundationConfig();
        if (!File.Exists(Path.Combine(Core.Paths.Out, "world", worldHash, "manifest.json")) ||
            !File.Exists(Path.Combine(Core.Paths.Out, "models", foundation.Hash(worldHash), "foundation.json"))) return null;
        var world = MiniWorld.Build(new WorldConfig());
        var mini = FoundationModels.LoadOrTrain(world, foundation, CPU);
        return (world, mini);
    }

    /// Linear probes (multinomial logistic regression) on frozen image features: object count and
    /// whether the left-most object is in the left half, from (a) the trained mini CLIP's patch features
    /// (mean-pooled and 2×2-pooled over the patch grid), (b) a random-init tower, (c) raw 8×8 pixels.
    [SkippableFact]
    public void VisionFeaturesAreInformative()
    {
        var run = FullRun();
        Skip.If(run is null, "no full-profile run under OLA_OUT");
        var (world, mini) = run!.Value;
        var scenes = world.Scenes("ift").Take(3000).ToList();
        using var bank = ImageBank.Load(scenes.Select(s => s.Image), p => Path.Combine(world.Root, p));
        var count = scenes.Select(s => (long)s.Objects.Count - 1).ToArray();          // 0..5
        var spheres = scenes.Select(s => (long)Math.Min(s.Objects.Count(o => o.Shape == ShapeKind.Sphere), 3)).ToArray();
        var leftHalf = scenes.Select(s => s.Objects.Min(o => o.Box.CenterX) < 32 ? 1L : 0L).ToArray();
        var colourNames = Shapes.Colors.Select(c => c.Name).ToList();
        var colour = scenes.Select(s => (long)colourNames.IndexOf(s.Objects.MaxBy(o => o.VisiblePixels)!.Color)).ToArray();
        var trained = mini.VisionTower(CPU);
        manual_seed(5);
        var random = new ClipVisionModel(mini.Clip.Config.Vision, CPU) { SelectLayer = -2 };
        var feats = new Dictionary<string, Tensor>
        {
            ["clip mean"] = Features(trained, bank, scenes.Count, grid: 1),
            ["clip 2x2"] = Features(trained, bank, scenes.Count, grid: 2),
            ["random mean"] = Features(random, bank, scenes.Count, grid: 1),
            ["random 2x2"] = Features(random, bank, scenes.Count, grid: 2),
            ["pixels 8x8"] = nn.functional.adaptive_avg_pool2d(bank.Pixels(Enumerable.Range(0, scenes.Count).ToList(), CPU), [8, 8]).flatten(1),
        };
        foreach (var (label, y, classes) in new[] { ("count (6-way)", count, 6), ("spheres 0-3+ (4-way)", spheres, 4), ("left-most in left half", leftHalf, 2), ("colour of the largest object (6-way)", colour, 6) })
        {
            var majority = y.GroupBy(v => v).Max(g => g.Count()) / (double)y.Length;
            output.WriteLine($"{label}: majority {majority:P1}");
            foreach (var (name, x) in feats)
                output.WriteLine($"  {name,-12} ({x.shape[1],4} dims): held-out acc {Probe(x, y, classes):P1}");
        }
    }

    static Tensor Features(ClipVisionModel tower, ImageBank bank, int n, int grid)
    {
        using var _ = no_grad();
        var parts = new List<Tensor>();
        for (int s = 0; s < n; s += 256)
        {
            var px = bank.Pixels(Enumerable.Range(s, Math.Min(256, n - s)).ToList(), CPU);
            var f = tower.forward(px);                                  // [b, 64, d]
            long b = f.shape[0], d = f.shape[2];
            var g = f.transpose(1, 2).reshape(b, d, 8, 8);
            parts.Add(nn.functional.adaptive_avg_pool2d(g, [grid, grid]).flatten(1));
        }
        return cat(parts, 0);
    }

    /// Held-out accuracy (last 25 %) of a softmax regression on standardised features.
    static double Probe(Tensor x, long[] y, int classes) => PatchProbes.Fit(x, y, classes, nTrain: (int)x.shape[0] * 3 / 4);

    /// A trained arm's choice accuracy on multiple-choice items it was trained on (ift, first turn) and
    /// on the benchmark, read from the logits of the choice tokens at the answer position; with each
    /// item's own image and with images shuffled across items (does the image matter?).
    [SkippableFact]
    public void TrainedModelChoiceAccuracy()
    {
        var file = Environment.GetEnvironmentVariable("DIAG_MODEL");
        var run = FullRun();
        Skip.If(run is null || file is null || !File.Exists(file), "no full-profile run under OLA_OUT or no DIAG_MODEL");
        var (world, mini) = run!.Value;
        var f = FoundationParts.From(mini, CPU);
        var model = OlaVlmModel.Create(f.NewLlava(1, CPU, OlaVlm.Experiments.ExperimentArms.FullMeasurement.ProjectorHidden), null);
        model.Load(file!);
        model.eval();
        var tok = f.Tokenizer;

        // ift: records whose first human turn is a multiple-choice question.
        var ift = LlavaDataset.Load(world.IftJson);
        var mc = ift.Records.Where(r => r.HasImage && r.Conversations[0].Value.Contains("Select from the following choices")).Take(400).ToList();
        var items = mc.Select(r => (Prompt: r.Conversations[0].Value, Answer: r.Conversations[1].Value, Key: r.Image!,
                                    Path: ift.ImagePath(r)!)).ToList();
        Report("ift (trained on)", items);
        output.WriteLine($"model {file}");
        var bench = CvBench.Load(world.BenchJsonl).Take(400).ToList();
        Report("bench", bench.Select(b => (Prompt: "<image>\n" + b.Prompt, Answer: b.Answer, Key: b.Filename, Path: CvBench.ImagePath(world.BenchJsonl, b))).ToList());

        using (var sbank = ImageBank.Load(mc.Take(64).Select(r => r.Image!).Distinct(), k => ift.ImagePath(mc.First(r => r.Image == k))!))
        using (no_grad())
        {
            var px = sbank.Pixels(Enumerable.Range(0, sbank.Count).ToList(), CPU);
            var raw = model.Llava.VisionTower.forward(px);
            var img = model.Llava.EncodeImages(px);                      // [n, 64, hidden]
            var emb = model.Llava.LanguageModel.Model.EmbedTokens.weight!;
            output.WriteLine($"CLIP feature token norm {raw.norm(-1).mean().item<float>():F2}, across-image std / mean |x| {raw.std(0).mean().item<float>() / raw.abs().mean().item<float>():F3}");
            output.WriteLine($"projected image token norm {img.norm(-1).mean().item<float>():F2}, text embedding norm {emb.norm(-1).mean().item<float>():F2}, " +
                             $"across-image std / mean |x| {img.std(0).mean().item<float>() / img.abs().mean().item<float>():F3}");
        }
        // Open colour questions ("What colour is the cube?"): the easiest visual attribute.
        var colour = ift.Records.Where(r => r.HasImage && r.Conversations[0].Value.Contains("What colour is")).Take(200).ToList();
        using (var cbank = ImageBank.Load(colour.Select(r => r.Image!).Distinct(), k => ift.ImagePath(colour.First(r => r.Image == k))!))
        {
            var opts = new GenerationOptions(MaxNewTokens: 4, StopTokenId: f.Template.StopId(tok), PadTokenId: tok.PadId);
            foreach (var shuffle in new[] { false, true })
            {
                var rows = colour.Select(r => cbank.Row(r.Image!)).ToArray();
                if (shuffle) new Random(3).Shuffle(rows);
                var replies = new List<string>();
                for (int s = 0; s < colour.Count; s += 32)
                {
                    using var scope = NewDisposeScope();
                    var prompts = colour.Skip(s).Take(32).Select(r => f.Template.Render(tok, [new ChatTurn(ChatRole.User, r.Conversations[0].Value)], addGenerationPrompt: true).Ids).ToList();
                    foreach (var ids in model.Generate(prompts, cbank.Pixels(rows.Skip(s).Take(32).ToList(), CPU), opts)) replies.Add(tok.Decode(ids));
                }
                int ok = colour.Select((r, i) => Norm(replies[i]) == Norm(r.Conversations[1].Value)).Count(b => b);
                output.WriteLine($"ift colour questions ({(shuffle ? "shuffled images" : "own image")}): {ok}/{colour.Count} exact; replies " +
                                 string.Join(" ", replies.GroupBy(x => x).OrderByDescending(g => g.Count()).Take(8).Select(g => $"'{g.Key}':{g.Count()}")));
            }
        }
        static string Norm(string x) => x.Trim().TrimEnd('.').Trim().ToLowerInvariant();

        void Report(string name, List<(string Prompt, string Answer, string Key, string Path)> xs)
        {
            using var bank = ImageBank.Load(xs.Select(x => x.Key).Distinct(), k => xs.First(x => x.Key == k).Path);
            var rows = xs.Select(x => bank.Row(x.Key)).ToList();
            var shuffled = rows.ToArray(); new Random(3).Shuffle(shuffled);
            var own = Accuracy(model, tok, f.Template, xs, bank, rows, out var hist);
            var other = Accuracy(model, tok, f.Template, xs, bank, shuffled, out _);
            var truth = xs.GroupBy(x => x.Answer).OrderBy(g => g.Key).Select(g => $"{g.Key}:{g.Count()}");
            output.WriteLine($"{name}: {xs.Count} items; accuracy own image {own:P1}, shuffled images {other:P1}; predicted {hist}; truth {string.Join(" ", truth)}");
        }
    }

    static readonly string[] Letters = ["(A)", "(B)", "(C)", "(D)", "(E)"];

    static double Accuracy(OlaVlmModel model, ITokenizer tok, ChatTemplate template, List<(string Prompt, string Answer, string Key, string Path)> xs,
                           ImageBank bank, IReadOnlyList<int> rows, out string histogram)
    {
        var letterIds = Letters.Select(l => { var t = tok.Encode(l); Assert.Single(t); return t[0]; }).ToArray();
        int correct = 0; var hist = new int[5];
        using var _ = no_grad();
        for (int s = 0; s < xs.Count; s += 32)
        {
            using var scope = NewDisposeScope();
            var part = xs.Skip(s).Take(32).ToList();
            var prompts = part.Select(x => MultimodalSample.Prompt(template.Render(tok, [new ChatTurn(ChatRole.User, x.Prompt)], addGenerationPrompt: true).Ids)).ToList();
            var px = bank.Pixels(rows.Skip(s).Take(32).ToList(), CPU);
            using var batch = model.Llava.Prepare(prompts, px, null, PaddingSide.Left);
            using var o = model.Llava.forward(batch);
            var last = o.Logits[.., -1, ..];
            for (int i = 0; i < part.Count; i++)
            {
                int k = part[i].Prompt.Contains("(E)") ? 5 : part[i].Prompt.Contains("(D)") ? 4 : part[i].Prompt.Contains("(C)") ? 3 : 2;
                var l = letterIds.Take(k).Select(id => last[i, id].item<float>()).ToArray();
                int p = Array.IndexOf(l, l.Max());
                hist[p]++;
                if (Letters[p] == part[i].Answer) correct++;
            }
        }
        histogram = string.Join(" ", hist.Select((c, i) => $"{Letters[i]}:{c}"));
        return correct / (double)xs.Count;
    }
    /// Controlled test: solid-colour images, "What colour is the sphere?" → the colour. The answer is
    /// only in the image, so a working LLaVA pipeline (projector + LLM, IFT preset) must learn it quickly.
    [SkippableFact]
    public void LearnsSolidColour()
    {
        var run = FullRun();
        Skip.If(run is null, "no full-profile run under OLA_OUT");
        var (_, mini) = run!.Value;
        var f = FoundationParts.From(mini, CPU);
        var tok = f.Tokenizer;
        var colours = new (string Name, float R, float G, float B)[] { ("red", 220, 40, 40), ("green", 40, 180, 60), ("blue", 40, 80, 220), ("yellow", 230, 200, 40), ("purple", 140, 60, 180), ("cyan", 40, 190, 200) };
        var images = new Dictionary<string, Tensor>();
        var mean = new[] { 0.48145466f, 0.4578275f, 0.40821073f }; var std = new[] { 0.26862954f, 0.26130258f, 0.27577711f };
        foreach (var c in colours)
        {
            var rgb = new[] { c.R, c.G, c.B };
            images[c.Name] = stack(Enumerable.Range(0, 3).Select(ch => full(64, 64, (rgb[ch] / 255f - mean[ch]) / std[ch])).ToArray(), 0);
        }
        var samples = new List<MultimodalSample>(); var keys = new List<string?>();
        for (int i = 0; i < 600; i++)
        {
            var c = colours[i % colours.Length].Name;
            var chat = f.Template.Render(tok, [new ChatTurn(ChatRole.User, "<image>\nWhat colour is the sphere?"), new ChatTurn(ChatRole.Assistant, char.ToUpper(c[0]) + c[1..] + ".")]);
            samples.Add(new MultimodalSample(chat.Ids, chat.Labels)); keys.Add(c);
        }
        var data = new InMemoryStageData(samples, keys, images, tok.ImageId);
        var model = OlaVlmModel.Create(f.NewLlava(1, CPU), null);
        var dir = Path.Combine(Path.GetTempPath(), "ola-diag-colour-" + Guid.NewGuid().ToString("N")[..8]);
        var steps = int.TryParse(Environment.GetEnvironmentVariable("DIAG_STEPS"), out var st) ? st : 60;
        var result = Stage.Run(model, StageConfig.FullFinetune with { Steps = steps, Seed = 1 }, data, null, dir);
        output.WriteLine($"ntp first {result.Metrics[0]["ntp"]:F3} last {result.Metrics[^1]["ntp"]:F3}");
        var opts = new GenerationOptions(MaxNewTokens: 4, StopTokenId: f.Template.StopId(tok), PadTokenId: tok.PadId);
        var prompt = f.Template.Render(tok, [new ChatTurn(ChatRole.User, "<image>\nWhat colour is the sphere?")], addGenerationPrompt: true).Ids;
        var px = stack(colours.Select(c => images[c.Name]).ToArray(), 0);
        var replies = model.Generate(colours.Select(_ => prompt).ToList(), px, opts).Select(ids => tok.Decode(ids)).ToList();
        output.WriteLine(string.Join(" | ", colours.Select((c, i) => $"{c.Name} → {replies[i]}")));
        var b = data.Batch(1, 0, 12, CPU);
        foreach (var train in new[] { false, true })
        {
            if (train) model.train(); else model.eval();
            using var _ = no_grad();
            using var fw = model.forward(b.Pixels, b.Samples, null);
            var lab = fw.Llava.Batch.Labels; var logits = fw.Llava.Output.Logits;
            var pred = logits[.., ..^1, ..].argmax(-1); var tgt = lab[.., 1..];
            var sup = tgt.ne(-100);
            output.WriteLine($"{(train ? "train" : "eval")} mode: teacher-forced ntp {fw.Ntp.item<float>():F3}, supervised tokens {sup.sum().item<long>()}, argmax correct {pred.eq(tgt).logical_and(sup).sum().item<long>()}");
            output.WriteLine("  labels row 0: " + string.Join(" ", lab[0].data<long>().ToArray().Where(x => x != -100).Select(x => tok.Decode([x]))));
        }
        Directory.Delete(dir, true);
    }
    /// PT (projector only, frozen LLM) on the world's captions: caption loss with each image and with
    /// images shuffled across the batch. A projector that carries image content makes the first lower.
    /// Variants (DIAG_PT = "lr,scale"): projector lr, and a factor on the projector's output layer at init
    /// (scale 1 = default; ~0.06 makes image tokens as large as text embeddings).
    [SkippableFact]
    public void PretrainUsesImage()
    {
        var run = FullRun();
        Skip.If(run is null, "no full-profile run under OLA_OUT");
        var (world, mini) = run!.Value;
        var f = FoundationParts.From(mini, CPU);
        using var pt = new ConversationData(LlavaDataset.Load(world.PtJson), f.Tokenizer, f.Template);
        var data = new ConversationStageData(pt, f.Tokenizer.ImageId);
        foreach (var variant in (Environment.GetEnvironmentVariable("DIAG_PT") ?? "0.002,1;0.002,0.06").Split(';'))
        {
            var v = variant.Split(',').Select(double.Parse).ToArray();
            var model = OlaVlmModel.Create(f.NewLlava(1, CPU), null);
            using (no_grad())
                foreach (var (name, p) in model.Llava.MmProjector.named_parameters())
                    if (name.StartsWith("2.")) p.mul_(v[1]);
            var dir = Path.Combine(Path.GetTempPath(), "ola-diag-pt-" + Guid.NewGuid().ToString("N")[..8]);
            var steps = int.TryParse(Environment.GetEnvironmentVariable("DIAG_STEPS"), out var st) ? st : 160;
            Stage.Run(model, StageConfig.FullPretrain with { Steps = steps, ProjectorLr = v[0], Seed = 1 }, data, null, dir);
            double own = 0, shuffled = 0;
            using (no_grad())
                for (int i = 0; i < 8; i++)
                {
                    using var scope = NewDisposeScope();
                    var b = data.Batch(99, i, 32, CPU);
                    using (var fw = model.forward(b.Pixels, b.Samples, null)) own += fw.Ntp.item<float>() / 8;
                    var perm = b.Pixels!.index_select(0, tensor(Enumerable.Range(0, (int)b.Pixels.shape[0]).Select(k => (long)((k + 1) % b.Pixels.shape[0])).ToArray()));
                    using (var fw = model.forward(perm, b.Samples, null)) shuffled += fw.Ntp.item<float>() / 8;
                }
            output.WriteLine($"PT lr {v[0]} out-scale {v[1]}, {steps} steps: caption ntp own image {own:F3}, shuffled images {shuffled:F3}, gap {shuffled - own:F3}");
            Directory.Delete(dir, true);
        }
    }
    /// Controlled test on real scenes: only the ift colour questions ("What colour is the cube?"), one
    /// per sample, IFT preset (projector + LLM); held-out accuracy of greedy replies, own vs shuffled images.
    /// DIAG_KIND=vpt trains the vision tower too (VisualPretrain stage).
    [SkippableFact]
    public void LearnsColourOnScenes()
    {
        var run = FullRun();
        Skip.If(run is null, "no full-profile run under OLA_OUT");
        var (world, mini) = run!.Value;
        var f = FoundationParts.From(mini, CPU);
        var tok = f.Tokenizer;
        var ift = LlavaDataset.Load(world.IftJson);
        var qa = new List<(string Image, string Q, string A)>();
        foreach (var r in ift.Records.Where(r => r.HasImage))
            for (int t = 0; t + 1 < r.Conversations.Count; t += 2)
                if (r.Conversations[t].Value.Contains("What colour is"))
                    qa.Add((r.Image!, r.Conversations[t].Value.Replace("<image>\n", ""), r.Conversations[t + 1].Value));
        var test = qa.TakeLast(300).ToList(); var trainQa = qa.SkipLast(300).ToList();
        using var bank = ImageBank.Load(qa.Select(x => x.Image).Distinct(), k => Path.Combine(ift.ImageRoot, k));
        var images = new Dictionary<string, Tensor>();
        foreach (var k in qa.Select(x => x.Image).Distinct()) images[k] = bank.Pixels([bank.Row(k)], CPU)[0];
        var samples = trainQa.Select(x => { var c = f.Template.Render(tok, [new ChatTurn(ChatRole.User, "<image>\n" + x.Q), new ChatTurn(ChatRole.Assistant, x.A)]); return new MultimodalSample(c.Ids, c.Labels); }).ToList();
        var data = new InMemoryStageData(samples, trainQa.Select(x => (string?)x.Image).ToList(), images, tok.ImageId);
        var model = OlaVlmModel.Create(f.NewLlava(1, CPU), null);
        if (Environment.GetEnvironmentVariable("DIAG_TOWER") == "random")
        {
            manual_seed(5);
            using var fresh = new ClipVisionModel(mini.Clip.Config.Vision, CPU);
            using var _ = no_grad();
            var src = fresh.state_dict();
            foreach (var (name, t) in model.Llava.VisionTower.state_dict()) t.copy_(src[name]);
            output.WriteLine("vision tower: random init (frozen)");
        }
        var dir = Path.Combine(Path.GetTempPath(), "ola-diag-scol-" + Guid.NewGuid().ToString("N")[..8]);
        var steps = int.TryParse(Environment.GetEnvironmentVariable("DIAG_STEPS"), out var st) ? st : 200;
        var lr = double.TryParse(Environment.GetEnvironmentVariable("DIAG_LR"), out var l) ? l : 3e-4;
        var cfg = Environment.GetEnvironmentVariable("DIAG_KIND") == "vpt"
            ? StageConfig.QuickVisualPretrain with { Steps = steps, BatchSize = 16, ProjectorLr = lr, LlmLr = lr, VisionLr = lr, Seed = 1 }
            : StageConfig.FullFinetune with { Steps = steps, ProjectorLr = lr, LlmLr = lr, Seed = 1 };
        Stage.Run(model, cfg, data, null, dir);
        var opts = new GenerationOptions(MaxNewTokens: 4, StopTokenId: f.Template.StopId(tok), PadTokenId: tok.PadId);
        foreach (var shuffle in new[] { false, true })
        {
            var keys = test.Select(x => x.Image).ToArray();
            if (shuffle) new Random(3).Shuffle(keys);
            var replies = new List<string>();
            for (int s = 0; s < test.Count; s += 50)
            {
                using var scope = NewDisposeScope();
                var prompts = test.Skip(s).Take(50).Select(x => f.Template.Render(tok, [new ChatTurn(ChatRole.User, "<image>\n" + x.Q)], addGenerationPrompt: true).Ids).ToList();
                var px = stack(keys.Skip(s).Take(50).Select(k => images[k]).ToArray(), 0);
                replies.AddRange(model.Generate(prompts, px, opts).Select(ids => tok.Decode(ids)));
            }
            int ok = test.Select((x, i) => Norm(replies[i]) == Norm(x.A)).Count(b => b);
            output.WriteLine($"{cfg.Kind} {steps} steps lr {lr}: held-out colour {ok}/{test.Count} ({(shuffle ? "shuffled" : "own")} images); replies " +
                             string.Join(" ", replies.GroupBy(x => x).OrderByDescending(g => g.Count()).Take(6).Select(g => $"'{g.Key}':{g.Count()}")));
        }
        output.WriteLine($"{trainQa.Count} training questions");
        Directory.Delete(dir, true);
        static string Norm(string x) => x.Trim().TrimEnd('.').Trim().ToLowerInvariant();
    }
    /// The baseline arm (LLaVA-1.5: PT → [VPT] → IFT, full presets) scored on the benchmark, without OLA
    /// heads or teachers. DIAG_VPT = VisualPretrain steps (0 = none, the default recipe); DIAG_SEED.
    [SkippableFact]
    public void BaselineBench()
    {
        var run = FullRun();
        Skip.If(run is null, "no full-profile run under OLA_OUT");
        var (world, mini) = run!.Value;
        var f = FoundationParts.From(mini, CPU);
        long seed = long.TryParse(Environment.GetEnvironmentVariable("DIAG_SEED"), out var sd) ? sd : 1;
        int vpt = int.TryParse(Environment.GetEnvironmentVariable("DIAG_VPT"), out var v) ? v : 0;
        double vlr = double.TryParse(Environment.GetEnvironmentVariable("DIAG_VPT_LR"), out var vl) ? vl : 3e-4;
        var model = OlaVlmModel.Create(f.NewLlava(seed, CPU), null);
        using var pt = new ConversationData(LlavaDataset.Load(world.PtJson), f.Tokenizer, f.Template);
        using var ift = new ConversationData(LlavaDataset.Load(world.IftJson), f.Tokenizer, f.Template);
        var dir = Path.Combine(Path.GetTempPath(), "ola-diag-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Stage.Run(model, StageConfig.FullPretrain with { Seed = seed }, new ConversationStageData(pt, f.Tokenizer.ImageId), null, Path.Combine(dir, "pt"));
        if (vpt > 0)
            Stage.Run(model, StageConfig.QuickVisualPretrain with { Steps = vpt, BatchSize = 16, LogEvery = 2, WarmupRatio = 0.03, Seed = seed, ProjectorLr = vlr, LlmLr = vlr, VisionLr = vlr }, new ConversationStageData(ift, f.Tokenizer.ImageId), null, Path.Combine(dir, "vpt"));
        Stage.Run(model, StageConfig.FullFinetune with { Seed = seed }, new ConversationStageData(ift, f.Tokenizer.ImageId), null, Path.Combine(dir, "ift"));
        var train = sw.Elapsed.TotalSeconds;
        var bench = CvBench.Load(world.BenchJsonl);
        var answers = BenchmarkAnswers.Greedy(model, f.Tokenizer, f.Template, world.BenchJsonl, bench, 6, 32, CPU);
        var score = OlaVlm.Eval.CvBenchScorer.Score(bench, answers);
        output.WriteLine($"baseline seed {seed}, VPT {vpt} steps at {vlr}, trained in {train:F0} s: " +
                         string.Join(", ", score.Records().Select(r => $"{r.Name} {r.Accuracy:P1} (n={r.Count})")));
        output.WriteLine("replies: " + string.Join(" ", answers.GroupBy(a => a).OrderByDescending(g => g.Count()).Take(6).Select(g => $"{g.Key}:{g.Count()}")));
        Directory.Delete(dir, true);
    }
}
