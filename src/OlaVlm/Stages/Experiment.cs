using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using OlaVlm.Data;
using OlaVlm.Eval;
using OlaVlm.Model;
using OlaVlm.Ola;
using OlaVlm.Teachers;
using OlaVlm.Text;
using OlaVlm.Training;
using OlaVlm.World;
using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Stages;

/// What every arm starts from (Foundation.MiniFoundation via From, or real checkpoints): a (pre-trained) vision tower, LLM and their tokenizer. Each arm gets its
/// own copy of the weights, so one FoundationParts feeds the baseline and OLA-VLM alike.
public sealed record FoundationParts(ClipVisionModel Vision, LlamaForCausalLM Llm, ITokenizer Tokenizer, ChatTemplate Template)
{
    public LlavaConfig LlavaConfig => new(Vision.Config, Llm.Config, Tokenizer.ImageId);

    /// The mini CLIP's vision tower and the mini LLM of the foundation notebook (02).
    public static FoundationParts From(Foundation.MiniFoundation m, Device? device = null) =>
        new(m.VisionTower(device), m.Llm, m.Tokenizer, m.Template);

    /// A new LLaVA with copies of the foundation weights and a projector initialised from `seed`
    /// (projectorHidden: its hidden width, null = the LLM width as LLaVA-1.5).
    public LlavaModel NewLlava(long seed, Device? device = null, int? projectorHidden = null)
    {
        device ??= Core.Devices.Default;
        using (manual_seed(seed)) { }
        var llava = new LlavaModel(LlavaConfig with { ProjectorHidden = projectorHidden }, device);
        using var _ = no_grad();
        Copy(Vision, llava.VisionTower);
        Copy(Llm, llava.LanguageModel);
        return llava;
    }

    static void Copy(nn.Module from, nn.Module to)
    {
        var src = from.state_dict();
        foreach (var (name, t) in to.state_dict())
        {
            if (!src.TryGetValue(name, out var s)) throw new ArgumentException($"FoundationParts: '{name}' missing from the foundation {from.GetName()}");
            t.copy_(s);
        }
    }

    /// SHA-256 of both models' weights (keys the experiment cache; reads every weight once).
    public string WeightsHash()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var m in new nn.Module[] { Vision, Llm })
            foreach (var (name, t) in m.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                sha.AppendData(Encoding.UTF8.GetBytes($"{name}:{string.Join(",", t.shape)}:{t.dtype};"));
                using var c = t.detach().cpu().contiguous();
                sha.AppendData(c.bytes);
            }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }
}

/// Both arms' recipe. OLA-VLM's task shapes come from the teachers (OlaConfig.ForTeachers) at run time.
public sealed record ExperimentConfig
{
    public OlaConfig Ola { get; init; } = OlaConfig.Miniature;
    public StageConfig Pretrain { get; init; } = StageConfig.QuickPretrain;
    public StageConfig? VisualPretrain { get; init; }
    public StageConfig Finetune { get; init; } = StageConfig.QuickFinetune;
    /// The projector's hidden width (LlavaConfig.ProjectorHidden): null = the LLM width, as LLaVA-1.5. Left out
    /// of the JSON when null, keeping cache keys.
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? ProjectorHidden { get; init; }
    /// Benchmark items answered (0 = all).
    public int BenchLimit { get; init; } = 0;
    /// Reasoned answers ("red c1 r5 x5 d9, blue c6 r4 x12 d9, so blue sphere (B)") run to ~30 tokens.
    public int MaxNewTokens { get; init; } = 48;
    /// Share of the IFT records (both pools) used, steps unchanged, so a smaller share is seen more often. Left out
    /// of the JSON at 1, keeping cache keys. Not notebook 06's IFT-share ablation: the miniature's IFT reads fewer
    /// records than even 25 % of the pool holds, so there it scales the steps (ExperimentArms.WithIftShare).
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double IftDataFraction { get; init; } = 1.0;
    public int EvalBatchSize { get; init; } = 32;
    /// CV-Bench's reference parsing. The miniature's tokenizer keeps "(A)" as one upper-case token, so
    /// its replies are read exactly as a real model's are.
    public AnswerParsing Parsing { get; init; } = AnswerParsing.Reference;

    public static ExperimentConfig Quick => new() { BenchLimit = 60 };
    public static ExperimentConfig Full => new() { Pretrain = StageConfig.FullPretrain, Finetune = StageConfig.FullFinetune };
}

/// One trained arm: its model, the stages' results (metrics of every logged step), greedy benchmark
/// answers and their CV-Bench score. Reused: loaded from the cache, nothing trained now.
public sealed record ArmResult(string Name, OlaVlmModel Model, IReadOnlyList<StageResult> Stages, IReadOnlyList<string> Answers,
                               CvBenchScore Score, bool Reused)
{
    public StageResult Stage(StageKind kind) => Stages.FirstOrDefault(s => s.Kind == kind)
        ?? throw new KeyNotFoundException($"arm {Name} has no {kind} stage");
}

public sealed record ScoreRow(string Metric, int Count, double Baseline, double Ola)
{
    public double Delta => Ola - Baseline;
}

public sealed record ExperimentResult(string Dir, string Hash, ArmResult Baseline, ArmResult Ola, IReadOnlyList<CvBenchItem> Bench)
{
    /// CV-Bench-style table: Overall, 2D, 3D, per task, per source; accuracies in [0, 1].
    public IReadOnlyList<ScoreRow> ScoreTable()
    {
        var b = Baseline.Score.Records().ToDictionary(r => r.Name);
        return Ola.Score.Records().Select(o => new ScoreRow(o.Name, o.Count, b.TryGetValue(o.Name, out var x) ? x.Accuracy : double.NaN, o.Accuracy)).ToList();
    }
}

/// The paper's main comparison in miniature: LLaVA-1.5 (PT → IFT) against OLA-VLM (PT with the embedding
/// loss → IFT) on the same data, seed and steps; both answer the benchmark greedily and are scored alike.
/// Results live in out/experiments/<hash>/ (hash of config, world, foundation weights, teachers and seed):
/// unchanged inputs reuse the saved models and answers; an interrupted stage resumes from its checkpoint.
public static class Experiment
{
    // 2: embedding loss reduced over the whole batch (EmbeddingLossReduction.MaskedBatchMean) and gen
    //    latents fitted by QueryTiling, as the reference; runs of version 1 averaged over image samples only.
    // 3: grounded world (world-3), IFT curriculum, reasoned answers (48 new tokens).
    // 4: each arm's PT stage in its own folder (experiments/pt-<PretrainHash>/<arm>), shared by the variants after it.
    const string Version = "exp-4";
    static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    public static string Hash(WorldData world, FoundationParts f, IReadOnlyDictionary<OlaTask, ITargetSource> targets, ExperimentConfig cfg, long seed) =>
        Digest(world, f, targets, JsonSerializer.Serialize(cfg, Json), f.WeightsHash(), seed.ToString());

    /// Key of one arm's PT stage: what it starts from and trains with (world, foundation weights, teachers, the PT
    /// config with its seed, OLA-VLM's config (null for the baseline), the projector's width if not LLaVA's), nothing
    /// of the stages after it.
    public static string PretrainHash(WorldData world, FoundationParts f, IReadOnlyDictionary<OlaTask, ITargetSource> targets, StageConfig pt, OlaConfig? ola,
                                      int? projectorHidden = null) =>
        Digest(world, f, targets, [JsonSerializer.Serialize(pt, Json), ola is null ? "baseline" : JsonSerializer.Serialize(ola, Json), f.WeightsHash(),
                                   .. projectorHidden is int h ? [$"projector hidden {h}"] : Array.Empty<string>()]);

    // The code version and the world, then `recipe` (one line each), then the tokenizer and the teachers.
    static string Digest(WorldData world, FoundationParts f, IReadOnlyDictionary<OlaTask, ITargetSource> targets, params string[] recipe)
    {
        var key = new StringBuilder();
        key.AppendLine(Version).AppendLine(Path.GetFullPath(world.Root)).AppendLine(JsonSerializer.Serialize(world.Manifest, Json));
        foreach (var line in recipe) key.AppendLine(line);
        key.AppendLine(f.Template.ToString()).AppendLine(f.Tokenizer.VocabSize.ToString());
        foreach (var (task, src) in targets.OrderBy(kv => kv.Key)) key.AppendLine($"{task}:{src.TeacherName}:{src.TeacherHash}");
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString())))[..12].ToLowerInvariant();
    }

    public static ExperimentResult RunBaselineAndOla(WorldData world, FoundationParts f, IReadOnlyDictionary<OlaTask, ITargetSource> targets,
                                                     ExperimentConfig cfg, long seed, IProgressReporter? progress = null, Action<string>? log = null,
                                                     Device? device = null)
    {
        device ??= Core.Devices.Default;
        log ??= _ => { };
        var hash = Hash(world, f, targets, cfg, seed);
        var dir = Core.Paths.OutDir("experiments", hash);
        var bench = CvBench.Load(world.BenchJsonl);
        if (cfg.BenchLimit > 0) bench = bench.Take(cfg.BenchLimit).ToList();
        var olaConfig = cfg.Ola.ForTeachers(targets);

        ConversationStageData? pt = null, ift = null, oneHop = null, ptFew = null;
        ConversationStageData Pt() => pt ??= new(new ConversationData(LlavaDataset.Load(world.PtJson), f.Tokenizer, f.Template), f.Tokenizer.ImageId);
        // PT with its curriculum: captions of scenes with few objects first (StageConfig.FewObjectsSteps).
        IStageData Pretrain(StageConfig sc)
        {
            if (sc.FewObjectsSteps <= 0) return Pt();
            ptFew ??= new(new ConversationData(FewObjectCaptions(world, sc.FewObjectsMax), f.Tokenizer, f.Template), f.Tokenizer.ImageId);
            return new CurriculumStageData(ptFew, Pt(), sc.FewObjectsSteps * sc.GradAccum);
        }
        ConversationStageData Ift() => ift ??= new(new ConversationData(IftSet(world.IftJson), f.Tokenizer, f.Template), f.Tokenizer.ImageId);
        ConversationStageData OneHop() => oneHop ??= new(new ConversationData(IftSet(world.IftOneHopJson), f.Tokenizer, f.Template), f.Tokenizer.ImageId);
        LlavaDataset IftSet(string path) => cfg.IftDataFraction < 1 ? LlavaDataset.Load(path).Fraction(cfg.IftDataFraction) : LlavaDataset.Load(path);
        // IFT with the curriculum: one-hop look-ups first, then the benchmark pool (StageConfig.OneHopSteps).
        IStageData Finetune(StageConfig sc) => sc.OneHopSteps > 0 ? new CurriculumStageData(OneHop(), Ift(), sc.OneHopSteps * sc.GradAccum) : Ift();
        try
        {
            // The baseline never reads cfg.Ola: its folder is keyed without it, so OLA-VLM ablations (notebook 06)
            // share one trained baseline per seed instead of retraining it for every variant.
            var baselineDir = Core.Paths.OutDir("experiments", Hash(world, f, targets, cfg with { Ola = OlaConfig.Miniature }, seed));
            ArmResult Arm(string name, OlaConfig? ola)
            {
                var armDir = Path.Combine(ola is null ? baselineDir : dir, name);
                OlaVlmModel NewModel(long initSeed)
                {
                    var llava = f.NewLlava(initSeed, device, cfg.ProjectorHidden);
                    using (manual_seed(initSeed + 1)) { }
                    return OlaVlmModel.Create(llava, ola);
                }
                long init = seed + cfg.Pretrain.InitSeedOffset;
                var model = NewModel(init);
                var modelFile = Path.Combine(armDir, "model.safetensors");
                var answersFile = Path.Combine(armDir, "answers.json");
                // PT is keyed on its own (PretrainHash): variants that differ after PT (the IFT share, the IFT-data fraction, IFT
                // steps) start from one pre-trained model per arm and seed instead of each training PT again.
                var ptCfg = cfg.Pretrain with { Kind = StageKind.Pretrain, Seed = seed };
                var ptDir = Core.Paths.OutDir("experiments", "pt-" + PretrainHash(world, f, targets, ptCfg, ola, cfg.ProjectorHidden), name);
                var stages = new List<(StageConfig Cfg, Func<IStageData> Data, string Dir)> { (ptCfg, () => Pretrain(ptCfg), Path.Combine(ptDir, "pt")) };
                if (cfg.VisualPretrain is StageConfig vpt) stages.Add((vpt with { Kind = StageKind.VisualPretrain, Seed = seed }, Ift, Path.Combine(armDir, "vpt")));
                var ftCfg = cfg.Finetune with { Kind = StageKind.Finetune, Seed = seed };
                stages.Add((ftCfg, () => Finetune(ftCfg), Path.Combine(armDir, "ift")));

                if (File.Exists(modelFile) && File.Exists(answersFile))
                {
                    log($"{name}: reusing {armDir}");
                    model.Load(modelFile);
                    model.eval();
                    var results = stages.Select(s => new StageResult(s.Cfg.Kind, s.Dir, Stage.EmbeddingLossOn(model, s.Cfg), [],
                                                                     MetricsLog.Read(s.Dir), "")).ToList();
                    var saved = JsonSerializer.Deserialize<List<string>>(File.ReadAllText(answersFile))
                                ?? throw new InvalidDataException($"{answersFile} holds no answers");
                    if (saved.Count != bench.Count) throw new InvalidDataException($"{answersFile} has {saved.Count} answers for {bench.Count} benchmark items");
                    return new ArmResult(name, model, results, saved, CvBenchScorer.Score(bench, saved, cfg.Parsing), true);
                }
                var done = new List<StageResult>();
                var ptModel = Path.Combine(ptDir, "model.safetensors");
                foreach (var (sc, data, runDir) in stages)
                {
                    if (sc.Kind == StageKind.Pretrain && File.Exists(ptModel))
                    {
                        log($"{name}: {sc.Kind} reused from {ptDir}");
                        model.Load(ptModel);
                        done.Add(new StageResult(sc.Kind, runDir, Stage.EmbeddingLossOn(model, sc), [], MetricsLog.Read(runDir), ""));
                        continue;
                    }
                    log($"{name}: {sc.Kind} for {sc.Steps} steps × {sc.EffectiveBatch}");
                    if (sc.Kind == StageKind.Pretrain && sc.InitCandidates > 1)
                    {
                        model.Dispose();
                        (model, _) = InitSelection.Pick(NewModel, init, sc, data(), targets, runDir, progress, $"{name} {sc.Kind}", log);
                    }
                    done.Add(Stage.Run(model, sc, data(), targets, runDir, progress: progress, title: $"{name} {sc.Kind}"));
                    if (sc.Kind == StageKind.Pretrain) model.Save(ptModel);
                }
                var answers = Answer(model, f.Tokenizer, f.Template, world.BenchJsonl, bench, cfg.MaxNewTokens, cfg.EvalBatchSize, device);
                model.Save(modelFile);
                File.WriteAllText(answersFile, JsonSerializer.Serialize(answers));
                return new ArmResult(name, model, done, answers, CvBenchScorer.Score(bench, answers, cfg.Parsing), false);
            }

            var baseline = Arm("baseline", null);
            var olaArm = Arm("ola", olaConfig);
            return new ExperimentResult(dir, hash, baseline, olaArm, bench);
        }
        finally { pt?.Data.Dispose(); ift?.Data.Dispose(); oneHop?.Data.Dispose(); ptFew?.Data.Dispose(); }
    }

    /// The PT curriculum's first pool: the pt captions of scenes with at most `maxObjects` objects.
    public static LlavaDataset FewObjectCaptions(WorldData world, int maxObjects)
    {
        var objects = world.Scenes("pt").ToDictionary(s => s.Image, s => s.Objects.Count);
        return LlavaDataset.Load(world.PtJson).Where(r => r.Image is { } im && objects.TryGetValue(im, out var n) && n <= maxObjects,
                                                     $"an image of at most {maxObjects} objects");
    }

    /// Greedy answers to benchmark items: "<image>\n" + prompt in the chat template with the generation
    /// prompt, the item's image, decoding until the template's stop token.
    public static List<string> Answer(OlaVlmModel model, ITokenizer tok, ChatTemplate template, string benchJsonl, IReadOnlyList<CvBenchItem> items,
                                      int maxNewTokens, int batchSize, Device device)
    {
        using var bank = ImageBank.Load(items.Select(i => i.Filename).Distinct(), k => CvBench.ImagePath(benchJsonl, items.First(i => i.Filename == k)));
        var opts = new GenerationOptions(MaxNewTokens: maxNewTokens, StopTokenId: template.StopId(tok), PadTokenId: tok.PadId);
        var answers = new List<string>(items.Count);
        model.eval();
        for (int start = 0; start < items.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var part = items.Skip(start).Take(batchSize).ToList();
            var prompts = part.Select(it => template.Render(tok, [new ChatTurn(ChatRole.User, "<image>\n" + it.Prompt)], addGenerationPrompt: true).Ids).ToList();
            var pixels = bank.Pixels(part.Select(it => bank.Row(it.Filename)).ToList(), device);
            foreach (var ids in model.Generate(prompts, pixels, opts)) answers.Add(tok.Decode(ids));
        }
        return answers;
    }
}
