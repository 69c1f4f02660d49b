using System.Text.Json;
using OlaVlm.Core;
using OlaVlm.Experiments;

// Machine checks (see README, Troubleshooting):
//   dotnet run --project src/OlaCheck -- conv                 240 conv2d shapes against float64, oneDNN on and off
//   dotnet run --project src/OlaCheck -- bf16 [--threads N]   bf16 vs fp32: matmuls and training steps, oneDNN off/on
//   dotnet run --project src/OlaCheck -- fingerprint DIR [--steps N]
//        runs the whole pipeline for N (20) steps per stage in DIR (a fresh folder) and writes DIR/fingerprint.json;
//        two runs with the same settings must write identical files (tests/…/DeterminismTests).
//   dotnet run --project src/OlaCheck -c Release -- foundations [--quick] [--ship DIR] [--reuse] [--llm-from DIR]
//        pre-trains the default profile's mini CLIP and mini LLM (with the reasoning phase and its text-oracle
//        score) from scratch, deterministically, and copies them with SHA-256 into DIR (default data/foundation).
//        environment/pretrain-foundations.sh runs this: the one command that reproduces the shipped foundations.
//   dotnet run --project src/OlaCheck -c Release -- teachers [--ship DIR]
//        trains the default profile's three mini teachers (depth, seg, gen) from scratch, deterministically, and copies
//        them with SHA-256 into DIR (default data/teachers); environment/pretrain-teachers.sh runs this.
//   dotnet run --project src/OlaCheck -c Release -- ptstep [N] [THREADS | pair]
//        milliseconds per PT step of each arm (main-job recipe, random-init models) and where a step's time goes;
//        pair: both arms at once, one thread each.
//   dotnet run --project src/OlaCheck -c Release -- reasoning [steps=600] [onehop=600] [items=300] [form=objects|words]
//        [hidden=] [inter=] [layers=] [heads=] [rope=] [batch=] [turns=] [lr=] [threads=]
//        a reasoning-phase experiment: a fresh mini LLM trained on scene questions alone with these overrides of
//        FoundationConfig, then its teacher-forced look-up accuracy and the text oracle (how SceneForm was chosen).
//   dotnet run --project src/OlaCheck -c Release -- scalar-race [SECONDS]
//        scalar ops beside an allocating thread: counts "Expected false to be true" errors (TorchSharp's Scalar
//        finalizer race; 0 with the build's guard, environment/build/TorchSharpNativePatches.cs).
//   dotnet run --project src/OlaCheck -c Release -- align [pt=80] [ift=120] [onehop=ift/3] [seed=1] [few=0] [fewmax=2] [ptlr=] [iftlr=] [clip=DIR] [projhidden=256]
//        the alignment budget: both arms (LLaVA-1.5, OLA-VLM) of the default profile's recipe with these PT and IFT
//        step counts, scored on the whole benchmark with each task's reply anatomy (cached like any experiment).
//   dotnet run --project src/OlaCheck -c Release -- clip [steps=800] [neg=1] [batch=32] [lr=0.003]
//        a mini-CLIP experiment: the default profile's CLIP trained with these overrides of FoundationConfig into
//        out/clipcheck/<tag>/, then its retrieval and the linear probes of its patch features (notebook 02's).
//        `align clip=out/clipcheck/<tag>` then trains both arms on that vision tower instead of the shipped one.
//   dotnet run --project src/OlaCheck -c Release -- oracle [N] [BATCH] [--tf] [--nocache]
//        the default profile's text oracle on N benchmark items (prompt, reply, answer); --tf adds teacher-forced
//        accuracy of the fact after a key vs other answer tokens; --nocache regenerates without the KV cache.
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("usage: OlaCheck conv | bf16 [--threads N] | fingerprint DIR [--steps N] | foundations [--quick] [--ship DIR] [--reuse] [--llm-from DIR] | teachers [--ship DIR] | ptstep [N] [THREADS|pair] | clip [key=value ...] | oracle [N] [BATCH] [--tf] [--nocache] | reasoning [key=value ...] | align [key=value ...] | scalar-race [SECONDS]");
    return args.Length == 0 ? 1 : 0;
}
Console.WriteLine(OneDnn.Apply());
switch (args[0])
{
    case "conv":
        foreach (var on in new[] { true, false })
        {
            var check = OneDnn.With(on, () => OneDnn.SelfCheck(OneDnn.SweepCases(), repeats: 2));
            Console.WriteLine($"oneDNN {(on ? "on " : "off")}: {check.Failures.Count} of {check.Cases.Count} convolutions wrong; worst: {check.Worst}");
        }
        return 0;
    case "bf16":
        if (args.Length >= 3 && args[1] == "--threads") TorchSharp.torch.set_num_threads(int.Parse(args[2]));
        Console.WriteLine($"{Devices.Describe()}; {OlaVlm.Perf.Machine.Describe()}");
        Console.WriteLine(Bf16Matmul.Describe());
        foreach (var c in Bf16Matmul.LastCheck.Cases)
            Console.WriteLine($"  {c.What,-30} rel. error oneDNN {c.OneDnnError:0.0e+0}, ATen {c.AtenError:0.0e+0}");
        OlaVlm.Perf.Bf16Speed.Matmuls();
        OlaVlm.Perf.Bf16Speed.Steps();
        return 0;
    case "fingerprint" when args.Length >= 2:
        var dir = Path.GetFullPath(args[1]);
        int steps = args.Length >= 4 && args[2] == "--steps" ? int.Parse(args[3]) : 20;
        Directory.CreateDirectory(dir);
        // Everything the pipeline caches goes under DIR, so two runs share nothing but the code.
        Environment.SetEnvironmentVariable("OLA_OUT", dir);
        var fp = DeterminismFingerprint.Run(dir, steps, log: Console.WriteLine);
        var file = Path.Combine(dir, "fingerprint.json");
        File.WriteAllText(file, fp.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {file}");
        return 0;
    case "foundations":
    {
        bool quick = args.Contains("--quick");
        int at = Array.IndexOf(args, "--ship");
        string? ship = at >= 0 && at + 1 < args.Length ? Path.GetFullPath(args[at + 1]) : null;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var world = OlaVlm.World.World.Build(quick ? OlaVlm.World.WorldConfig.Quick : new OlaVlm.World.WorldConfig(), log: Console.WriteLine);
        var config = quick ? OlaVlm.Foundation.FoundationConfig.Quick : new OlaVlm.Foundation.FoundationConfig();
        // --reuse ships what out/models already holds for this config and world (trained by an earlier run).
        // --llm-from DIR takes the LLM over from the finished foundation in DIR when only the CLIP's recipe differs
        // (checked: LLM knobs, world, LLM code version, file hashes) instead of training it again (~32 min).
        int lf = Array.IndexOf(args, "--llm-from");
        string? llmFrom = lf >= 0 && lf + 1 < args.Length ? Path.GetFullPath(args[lf + 1]) : null;
        using var m = OlaVlm.Foundation.FoundationModels.LoadOrTrain(world, config, Devices.Default, Console.WriteLine, retrain: !args.Contains("--reuse"), llmFrom: llmFrom);
        Console.WriteLine($"mini CLIP: {m.ClipReport}");
        Console.WriteLine($"mini LLM: {m.LlmReport}");
        Console.WriteLine($"{m.Oracle}");
        var dest = OlaVlm.Foundation.FoundationModels.Ship(m, ship ?? (quick ? null : OlaVlm.Foundation.FoundationModels.ShippedDir));
        Console.WriteLine($"shipped to {dest} after {sw.Elapsed.TotalMinutes:F1} min");
        return 0;
    }
    case "oracle":
    {
        // The text oracle's replies beside the truth, for the default profile's (shipped) foundation.
        int n = args.Length >= 2 ? int.Parse(args[1]) : 12;
        var world = OlaVlm.World.World.Build(new OlaVlm.World.WorldConfig(), log: Console.WriteLine);
        using var m = OlaVlm.Foundation.FoundationModels.LoadOrTrain(world, new OlaVlm.Foundation.FoundationConfig(), Devices.Default, Console.WriteLine);
        var items = OlaVlm.World.CvBench.Load(world.BenchJsonl);
        var pick = Enumerable.Range(0, n).Select(i => items[i * items.Count / n]).ToList();
        var form = new OlaVlm.Foundation.FoundationConfig().SceneForm;
        var prompts = OlaVlm.Eval.TextOracle.Prompts(world, form, pick);
        int bs = args.Length >= 3 ? int.Parse(args[2]) : 32;
        var replies = OlaVlm.Eval.TextOracle.Answer(m.Llm, m.Tokenizer, m.Template, prompts, 48, bs);
        for (int i = 0; i < n; i++)
            Console.WriteLine($"--- {pick[i].Task} answer {pick[i].Answer}\n{prompts[i]}\n>>> {replies[i]}");
        if (args.Contains("--tf"))
            foreach (var split in new[] { "pt", "bench" })
            {
                var tf = OlaVlm.Eval.TextOracle.TeacherForced(m.Llm, m.Tokenizer, m.Template, OlaVlm.Foundation.SceneQaData.FromWorld(world, form, split));
                Console.WriteLine($"{split} scenes, teacher-forced: the fact after a key {tf.AfterKey:P1} of {tf.AfterKeyTokens}, other answer tokens {tf.Other:P1} of {tf.OtherTokens}");
            }
        if (args.Contains("--nocache"))
            foreach (var p in prompts)
            {
                var ids = m.Template.Render(m.Tokenizer, [new OlaVlm.Text.ChatTurn(OlaVlm.Text.ChatRole.User, p.Text)], addGenerationPrompt: true).Ids;
                using var t = TorchSharp.torch.tensor(ids, [1, ids.Length]);
                m.Llm.eval();
                using var e = OlaVlm.Foundation.ObjectTokens.Embed(m.Llm, m.Tokenizer, t, [p.Objects]);
                var o = OlaVlm.Model.Generation.Generate(m.Llm, null, e, null, new OlaVlm.Model.GenerationOptions(48, StopTokenId: m.Template.StopId(m.Tokenizer), UseCache: false));
                Console.WriteLine($"no cache >>> {m.Tokenizer.Decode(o[0])}");
            }
        return 0;
    }
    case "reasoning":
    {
        // A reasoning-phase experiment from a fresh LLM: key=value overrides of FoundationConfig's LLM and
        // reasoning fields, then teacher-forced look-up accuracy and the text oracle on `items` bench items.
        string[] keys = ["steps", "onehop", "items", "form", "hidden", "inter", "layers", "heads", "rope", "batch", "turns", "lr", "threads"];
        var kv = new Dictionary<string, string>();
        foreach (var a in args.Skip(1))
        {
            var p = a.Split('=', 2);
            if (p.Length != 2 || !keys.Contains(p[0]))
            {
                Console.Error.WriteLine($"OlaCheck reasoning: '{a}' is not key=value with a key among {string.Join(", ", keys)}");
                return 1;
            }
            kv[p[0]] = p[1];
        }
        int I(string k, int d) => kv.TryGetValue(k, out var v) ? int.Parse(v) : d;
        double D(string k, double d) => kv.TryGetValue(k, out var v) ? double.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : d;
        var f0 = new OlaVlm.Foundation.FoundationConfig();
        var f = f0 with
        {
            LlmHidden = I("hidden", f0.LlmHidden), LlmIntermediate = I("inter", f0.LlmIntermediate), LlmLayers = I("layers", f0.LlmLayers),
            LlmHeads = I("heads", f0.LlmHeads), LlmKvHeads = I("heads", f0.LlmKvHeads), ReasoningSteps = I("steps", 600),
            ReasoningOneHopSteps = I("onehop", 600), ReasoningBatch = I("batch", f0.ReasoningBatch), ReasoningTurns = I("turns", f0.ReasoningTurns),
            ReasoningLr = D("lr", f0.ReasoningLr), LogEvery = 50,
            LlmRopeTheta = D("rope", f0.LlmRopeTheta),
            SceneForm = kv.TryGetValue("form", out var fm) ? Enum.Parse<OlaVlm.World.SceneForm>(fm, ignoreCase: true) : f0.SceneForm,
        };
        if (kv.ContainsKey("threads")) TorchSharp.torch.set_num_threads(I("threads", 2));
        var world = OlaVlm.World.World.Build(new OlaVlm.World.WorldConfig(), log: Console.WriteLine);
        var template = OlaVlm.Text.ChatTemplate.Miniature();
        var tok = OlaVlm.Data.WorldTokenizer.Build(template);
        TorchSharp.torch.manual_seed(f.Seed).Dispose();
        using var lm = new OlaVlm.Model.LlamaForCausalLM(f.LlmModelConfig(tok.VocabSize) with { BosTokenId = tok.BosId, EosTokenId = tok.EosId }, Devices.Default);
        var qa = OlaVlm.Foundation.SceneQaData.FromWorld(world, f.SceneForm, "pt", "ift");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var rows = OlaVlm.Foundation.MiniLlm.TrainReasoning(lm, qa, tok, template, f, Path.Combine(Path.GetTempPath(), "ola-reasoning", string.Join("_", args.Skip(1))), Devices.Default);
        Console.WriteLine($"trained {f.ReasoningSteps} steps in {sw.Elapsed.TotalSeconds:F0} s; losses: {string.Join(" ", rows.Where((_, i) => i % Math.Max(1, rows.Count / 12) == 0).Select(r => $"{r.Step}:{r.Loss:F3}"))}");
        var benchQa = OlaVlm.Foundation.SceneQaData.FromWorld(world, f.SceneForm, "bench");
        foreach (var (name, c) in new[] { ("one-hop", new OlaVlm.World.Curriculum(int.MaxValue, 1, 0)), ("benchmark", new OlaVlm.World.Curriculum(0, 0.2, 0)) })
        {
            var tf = OlaVlm.Eval.TextOracle.TeacherForced(lm, tok, template, benchQa, curriculum: c);
            Console.WriteLine($"bench scenes, {name} questions, teacher-forced: the fact after a key {tf.AfterKey:P1} of {tf.AfterKeyTokens}, other answer tokens {tf.Other:P1} of {tf.OtherTokens}");
        }
        int items = I("items", 300);
        if (items > 0)
        {
            var all = OlaVlm.World.CvBench.Load(world.BenchJsonl);
            var bench = Enumerable.Range(0, items).Select(i => all[i * all.Count / items]).ToList();
            var (score, replies) = OlaVlm.Eval.TextOracle.Evaluate(lm, tok, template, world, f.SceneForm, bench);
            Console.WriteLine($"text oracle {score.Items.Average(i => i.Correct ? 1.0 : 0.0):P1} on {items}: {string.Join(", ", score.ByTask.Select(t => $"{t.Key} {t.Value.Accuracy:P0}"))}");
            for (int i = 0; i < 8; i++) Console.WriteLine($"  {bench[i * items / 8].Task}: {replies[i * items / 8]}");
        }
        return 0;
    }
    case "scalar-race":
    {
        // TorchSharp passes an implicit Scalar's raw handle to native code and frees it in a finalizer; a GC
        // between the two frees it mid-call (Core.ScalarLifetime). Many scalar ops while another thread allocates.
        int seconds = args.Length >= 2 ? int.Parse(args[1]) : 20;
        Console.WriteLine(ScalarLifetime.Status);
        var race = ScalarLifetime.Race(TimeSpan.FromSeconds(seconds));
        Console.WriteLine($"{race} in {seconds} s");
        return race.Errors + race.Wrong > 0 ? 2 : 0;
    }
    case "clip":
    {
        var kv = args.Skip(1).Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p.Length == 2 ? p[1] : "");
        var bad = kv.Keys.Except(["steps", "neg", "batch", "lr", "seg", "centre"]).ToList();
        if (bad.Count > 0) { Console.Error.WriteLine($"OlaCheck clip: unknown key(s) {string.Join(", ", bad)}"); return 1; }
        var f0 = new OlaVlm.Foundation.FoundationConfig();
        var f = f0 with
        {
            ClipSteps = kv.TryGetValue("steps", out var st) ? int.Parse(st) : f0.ClipSteps,
            ClipHardNegatives = kv.TryGetValue("neg", out var ng) ? int.Parse(ng) : f0.ClipHardNegatives,
            ClipBatch = kv.TryGetValue("batch", out var bt) ? int.Parse(bt) : f0.ClipBatch,
            ClipLr = kv.TryGetValue("lr", out var lr) ? double.Parse(lr, System.Globalization.CultureInfo.InvariantCulture) : f0.ClipLr,
            ClipSegWeight = kv.TryGetValue("seg", out var sg) ? double.Parse(sg, System.Globalization.CultureInfo.InvariantCulture) : f0.ClipSegWeight,
            ClipCentreWeight = kv.TryGetValue("centre", out var ce) ? double.Parse(ce, System.Globalization.CultureInfo.InvariantCulture) : f0.ClipCentreWeight,
        };
        string tag = $"s{f.ClipSteps}-n{f.ClipHardNegatives}-b{f.ClipBatch}-lr{f.ClipLr}-seg{f.ClipSegWeight}-c{f.ClipCentreWeight}";
        string outDir = Path.Combine(Paths.OutDir("clipcheck"), tag);
        var world = OlaVlm.World.World.Build(new OlaVlm.World.WorldConfig(), log: Console.WriteLine);
        var tok = OlaVlm.Data.WorldTokenizer.Build(OlaVlm.Text.ChatTemplate.Miniature());
        var (clip, report) = OlaVlm.Foundation.FoundationModels.TrainClip(world, f, tok, Path.Combine(outDir, "run"), Devices.Default, Console.WriteLine);
        using var _ = clip;
        Console.WriteLine($"{tag}: {report} ({report.TrainSeconds:F0} s)");
        OlaVlm.Foundation.MiniClip.Save(clip, outDir);
        using var tower = OlaVlm.Foundation.MiniClip.VisionTower(clip);
        foreach (var p in OlaVlm.Foundation.PatchProbes.Run(tower, world, "ift", 2000, Devices.Default))
            Console.WriteLine($"  probe {p.Property,-45} {p.Features,-15} trained {p.Accuracy:F3}  random tower {p.RandomTower:F3}  majority {p.Majority:F3}");
        Console.WriteLine($"wrote {outDir}");
        return 0;
    }
    case "align":
    {
        // How far the image arms get with a larger PT/IFT budget than the main job spends (issue 11).
        string[] keys = ["pt", "ift", "onehop", "seed", "few", "fewmax", "ptbatch", "init", "cand", "probe", "projhidden"];
        var kv = new Dictionary<string, int>();
        string? clipDir = null;
        double? ptLr = null, iftLr = null;
        foreach (var a in args.Skip(1))
        {
            if (a.StartsWith("clip=")) { clipDir = Path.GetFullPath(a[5..]); continue; }
            if (a.StartsWith("ptlr=")) { ptLr = double.Parse(a[5..], System.Globalization.CultureInfo.InvariantCulture); continue; }
            if (a.StartsWith("iftlr=")) { iftLr = double.Parse(a[6..], System.Globalization.CultureInfo.InvariantCulture); continue; }
            var p = a.Split('=', 2);
            if (p.Length != 2 || !keys.Contains(p[0]) || !int.TryParse(p[1], out var v) || v < 0)
            {
                Console.Error.WriteLine($"OlaCheck align: '{a}' is not key=N (N >= 0) with a key among {string.Join(", ", keys)}");
                return 1;
            }
            kv[p[0]] = v;
        }
        int pt = kv.GetValueOrDefault("pt", 80), ift = kv.GetValueOrDefault("ift", 120), seed = kv.GetValueOrDefault("seed", 1);
        int oneHop = kv.GetValueOrDefault("onehop", ift / 3);
        using var ws = Workspace.Open(quick: false, log: Console.WriteLine);
        var cfg = ws.Experiment with
        {
            Pretrain = ws.Experiment.Pretrain with { Steps = pt },
            Finetune = ws.Experiment.Finetune with { Steps = ift, OneHopSteps = Math.Min(oneHop, ift) },
        };
        if (kv.ContainsKey("few")) cfg = cfg with { Pretrain = cfg.Pretrain with { FewObjectsSteps = kv["few"], FewObjectsMax = kv.GetValueOrDefault("fewmax", 2) } };
        if (kv.TryGetValue("cand", out var cd)) cfg = cfg with { Pretrain = cfg.Pretrain with { InitCandidates = cd, InitProbeSteps = kv.GetValueOrDefault("probe", 100) } };
        if (kv.TryGetValue("init", out var io)) cfg = cfg with { Pretrain = cfg.Pretrain with { InitSeedOffset = io } };
        // projhidden=0: LLaVA's rule (hidden = LLM width) instead of the miniature's 4 × CLIP width.
        if (kv.TryGetValue("projhidden", out var ph)) cfg = cfg with { ProjectorHidden = ph == 0 ? null : ph };
        if (kv.TryGetValue("ptbatch", out var pb)) cfg = cfg with { Pretrain = cfg.Pretrain with { BatchSize = pb } };
        if (ptLr is double pl) cfg = cfg with { Pretrain = cfg.Pretrain with { ProjectorLr = pl, OlaLr = pl } };
        if (iftLr is double il) cfg = cfg with { Finetune = cfg.Finetune with { ProjectorLr = il, LlmLr = il } };
        var sw = System.Diagnostics.Stopwatch.StartNew();
        OlaVlm.Stages.ExperimentResult exp;
        if (clipDir is null) exp = ws.Run(seed, cfg, Console.WriteLine);
        else
        {
            using var clip = OlaVlm.Foundation.MiniClip.Load(clipDir, ws.Device);
            var parts = ws.Foundation with { Vision = OlaVlm.Foundation.MiniClip.VisionTower(clip, ws.Device) };
            Console.WriteLine($"vision tower from {clipDir}");
            exp = OlaVlm.Stages.Experiment.RunBaselineAndOla(ws.World, parts, ws.Targets, cfg, seed, device: ws.Device, log: Console.WriteLine);
        }
        Console.WriteLine($"PT {pt} + IFT {ift} steps ({cfg.Finetune.OneHopSteps} one-hop), seed {seed}: {sw.Elapsed.TotalSeconds:F0} s");
        foreach (var arm in new[] { exp.Baseline, exp.Ola })
        {
            Console.WriteLine($"{arm.Name}: {string.Join(", ", arm.Score.Records().Where(r => r.Name is "Overall" or "task/Count" or "task/Relation" or "task/Depth" or "task/Distance").Select(r => $"{r.Name} {r.Accuracy:F3}"))}");
            foreach (var row in OlaVlm.Eval.ReplyAnatomy.Of(exp.Bench, arm.Answers))
                Console.WriteLine($"  {row.Task,-9} conclusion right {(double)row.ConclusionRight / row.Items:F3}, letter follows it {(double)row.LetterFollowsConclusion / row.Items:F3}, correct {(double)row.Correct / row.Items:F3} ({row.Items})");
            for (int i = 0; i < 4; i++)
            {
                int k = i * exp.Bench.Count / 4;
                Console.WriteLine($"  {exp.Bench[k].Task} (answer {exp.Bench[k].Answer}): {arm.Answers[k]}");
            }
        }
        return 0;
    }
    case "teachers":
    {
        string dest = OlaVlm.Stages.WorldTeachers.ShippedDir;
        for (int i = 1; i < args.Length; i++)
            if (args[i] == "--ship" && i + 1 < args.Length) dest = Path.GetFullPath(args[++i]);
            else { Console.Error.WriteLine($"OlaCheck teachers: unknown argument '{args[i]}' (expected --ship DIR)"); return 1; }
        var world = OlaVlm.World.World.Build(new OlaVlm.World.WorldConfig(), log: Console.WriteLine);
        var scratch = Paths.OutDir("teachers-pretrain", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss"));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var train = new OlaVlm.Teachers.TeacherTrainConfig();
        var stored = OlaVlm.Stages.WorldTeachers.LoadOrTrain(world, train, log: Console.WriteLine, shipped: "", dir: scratch);
        var about = new System.Text.Json.Nodes.JsonObject
        {
            ["made by"] = "environment/pretrain-teachers.sh (OlaCheck teachers)",
            ["world"] = OlaVlm.World.World.ConfigHash(world.Manifest.Config),
            ["train"] = System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(train)),
            ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 1),
        };
        OlaVlm.Teachers.TeacherStore.Ship(stored, dest, about);
        foreach (var t in stored) Console.WriteLine($"{t.Teacher.Name}: {t.Score}");
        Console.WriteLine($"teachers trained in {sw.Elapsed.TotalSeconds:F0} s, shipped to {dest}");
        foreach (var t in stored) t.Teacher.Dispose();
        return 0;
    }
    case "ptstep":
    {
        // Seconds per PT step of each arm (main-job recipe, random-init models at the default sizes, one fixed
        // batch of the quick world), and where the OLA-VLM step's extra time goes: forward, heads, backward.
        int n = args.Length > 1 ? int.Parse(args[1]) : 20;
        if (args.Length > 2 && args[2] == "pair")
        {
            // Both arms at once, one thread each.
            using var a = OlaVlm.Perf.PtStepWorkload.Create(false, ExperimentArms.FullMeasurement);
            using var b = OlaVlm.Perf.PtStepWorkload.Create(true, ExperimentArms.FullMeasurement);
            var times = new double[2];
            var threads = new[] { a, b }.Select((w, k) => new Thread(() =>
            {
                TorchSharp.torch.set_num_threads(1);
                for (int i = 0; i < 3; i++) w.Step();
                var sw1 = System.Diagnostics.Stopwatch.StartNew();
                for (int i = 0; i < n; i++) w.Step();
                times[k] = sw1.Elapsed.TotalMilliseconds / n;
            })).ToList();
            var all = System.Diagnostics.Stopwatch.StartNew();
            threads.ForEach(t => t.Start()); threads.ForEach(t => t.Join());
            Console.WriteLine($"pair: baseline {times[0]:F1} ms/step, ola {times[1]:F1} ms/step, wall {all.Elapsed.TotalSeconds:F1} s");
            return 0;
        }
        if (args.Length > 2) TorchSharp.torch.set_num_threads(int.Parse(args[2]));
        Console.WriteLine($"threads: {TorchSharp.torch.get_num_threads()}");
        var full = ExperimentArms.FullMeasurement;
        foreach (var (ola, cfg) in new[] { (false, full), (true, full), (true, full with { Ola = full.Ola with { NumTaskTokens = 0 } }),
                                           (true, full with { Ola = full.Ola with { UseContrastive = false } }) })
        {
            using var w = OlaVlm.Perf.PtStepWorkload.Create(ola, cfg);
            for (int i = 0; i < 3; i++) w.Step();
            var sw = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < n; i++) w.Step();
            Console.WriteLine($"{w.Name}: {sw.Elapsed.TotalMilliseconds / n:F1} ms/step ({w.Description})");
            var ph = Enumerable.Range(0, n).Select(_ => w.StepPhases()).ToList();
            Console.WriteLine($"  phases (ms): images {ph.Average(p => p.Images):F1} (again inside forward), forward {ph.Average(p => p.Forward):F1}, " +
                              $"backward {ph.Average(p => p.Backward):F1}, update {ph.Average(p => p.Update):F1}");
        }
        return 0;
    }
    default:
        Console.Error.WriteLine($"OlaCheck: unknown command '{string.Join(' ', args)}'");
        return 1;
}
