using OlaVlm.Teachers.DepthAnything;
using OlaVlm.Teachers.OneFormer;
using OlaVlm.Teachers.UnClip;
using OlaVlm.Tests.Data;
using Xunit.Abstractions;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace OlaVlm.Tests.FullScale;

/// The pieces a full-scale run is made of, each on its own: raw-image targets, the cache-or-on-the-fly plan, the
/// tokenizer of an LLM folder, LLaVA from parts (either tower) and back from its saved folder, CV-Bench's two layouts,
/// the plan's parameter counts against the released models.
public class FullScalePartsTests(ITestOutputHelper output)
{
    static TinyInputs In => TinyCheckpoints.Inputs;

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static Dictionary<OlaTask, ITeacher> Teachers() =>
        FullScaleTeachers.Load(new TeacherPaths(In.Dav2, In.OneFormer, In.UnClip, "tiny"), CPU);

    [Fact]
    public void RawImageTargetsAreEachTeachersOwnPreprocessingAndEncode()
    {
        var teachers = Teachers();
        try
        {
            using var a = ImageLoader.Load(TestFiles.Fixture("Teachers", "image0_40x30.png"));
            using var b = ImageLoader.Load(TestFiles.Fixture("Teachers", "image1_300x250.png"));
            var images = new Dictionary<string, Image<Rgb24>> { ["a"] = a, ["b"] = b };
            foreach (var teacher in teachers.Values)
            {
                using var own = teacher switch
                {
                    DepthAnythingV2Teacher d => d.Preprocess([a, b]),
                    OneFormerSegTeacher s => s.Preprocess.PixelValues([a, b], CPU),
                    UnClipImageEncoderTeacher u => u.Preprocess([a, b]),
                    _ => throw new InvalidOperationException(),
                };
                using var mine = RawImageTargets.Preprocess(teacher, [a, b]);
                Assert.True(Same(own, mine), $"{teacher.Name}: preprocessing differs");
                // OnTheFlyTargets encodes outside oneDNN (a bf16 step around it may have switched it on): float rounding only.
                using var expected = Core.Bf16Matmul.WithoutOneDnn(() => teacher.Encode(own));
                using var got = RawImageTargets.OnTheFly(teacher, id => images[id]).Get(["a", "b"], CPU);
                double err = TestFiles.MaxAbs(expected, got);
                output.WriteLine($"{teacher.Name}: on-the-fly targets {Checked.Fmt(got.shape)}, max |Δ| {err:G3} against Encode(own preprocessing)");
                Assert.True(err == 0, $"{teacher.Name}: on-the-fly targets differ by {err}");
            }
            var mini = new DepthTeacher(new DepthTeacherConfig(), CPU);
            Assert.Contains("no raw-image preprocessing", Assert.Throws<NotSupportedException>(() => RawImageTargets.OnTheFly(mini, _ => a)).Message);
        }
        finally { foreach (var t in teachers.Values) t.Dispose(); }
    }

    [Fact]
    public void OlaConfigFollowsTheTeachersTargets()
    {
        var teachers = Teachers();
        try
        {
            var cfg = FullScaleTeachers.ConfigFor(teachers);
            Assert.Equal([OlaTask.Gen, OlaTask.Depth, OlaTask.Seg], cfg.Tasks);
            Assert.Equal((576, 24), (cfg.Spec(OlaTask.Depth).NumTargetTokens, cfg.Spec(OlaTask.Depth).TargetDim));
            Assert.Equal((576, 32), (cfg.Spec(OlaTask.Seg).NumTargetTokens, cfg.Spec(OlaTask.Seg).TargetDim));
            Assert.Equal((1, 24), (cfg.Spec(OlaTask.Gen).NumTargetTokens, cfg.Spec(OlaTask.Gen).TargetDim));
            Assert.Equal(OlaConfig.Paper.Spec(OlaTask.Depth).PaperLayers, cfg.Spec(OlaTask.Depth).PaperLayers);
        }
        finally { foreach (var t in teachers.Values) t.Dispose(); }
    }

    [Fact]
    public void TargetPlanSaysTheCacheSizeAndChoosesOnTheFlyAtFullScale()
    {
        long[][] paper = [[576, 1024], [576, 1536], [1, 1024]];
        var dir = TestFiles.TempDir("fullscale", "plan");
        var full = TargetPlan.Decide(paper, 558_128, subset: false, dir);
        output.WriteLine(full.ToString());
        Assert.Equal(TargetMode.OnTheFly, full.Mode);
        Assert.InRange(full.CacheBytes / 1e12, 1.64, 1.66);   // 1,475,584 fp16 numbers an image
        Assert.Contains("GB at fp16", full.Why);
        Assert.Equal(TargetMode.Cache, TargetPlan.Decide(paper, 100, subset: true, dir).Mode);
        Assert.Equal(TargetMode.OnTheFly, TargetPlan.Decide(paper, 100, subset: true, dir, TargetMode.OnTheFly).Mode);
        Assert.Contains("does not fit", Assert.Throws<IOException>(() => TargetPlan.Decide(paper, 100_000_000, subset: true, dir, TargetMode.Cache)).Message);
        // The miniature always caches and says so with its size: 3 mini teachers' rows for the default PT images.
        long[][] mini = [[16, 32], [16, 32], [1, 32]];
        var m = TargetPlan.Miniature(mini, 4_000, dir);
        output.WriteLine(m.ToString());
        Assert.Equal(TargetMode.Cache, m.Mode);
        Assert.Equal(mini.Sum(s => TargetPlan.CacheFileBytes(s, 4_000)), m.CacheBytes);
        Assert.Contains("the miniature's default", m.ToString());
        Assert.Contains("4,000 images", m.ToString());
    }

    [Fact]
    public void TokenizerAndTemplateComeFromTheLlmFolder()
    {
        var (tok, template) = PretrainedTokenizer.Load(In.Llm);
        Assert.Equal("llava_phi_3", template.Name);
        Assert.Equal(32007, template.StopId(tok));   // <|end|>
        var dir = TestFiles.TempDir("fullscale", "tokenizer");
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"model_type": "gpt2"}""");
        var e = Assert.Throws<NotSupportedException>(() => PretrainedTokenizer.Load(dir));
        Assert.Contains("config.json: model_type 'gpt2'", e.Message);
    }

    [Fact]
    public void ConvNextLlavaFromPartsSavesAndLoadsBackWithItsHeads()
    {
        var convnext = TestFiles.Fixture("Encoders", "convnext");
        var (tok, _) = PretrainedTokenizer.Load(In.Llm);
        manual_seed(3);
        using var llava = LlavaParts.Load(In.Llm, convnext, tok.ImageId, CPU, convNext: ConvNextConfig.Miniature(64));
        Assert.NotNull(llava.Config.ConvNext);
        using var tower = ConvNextPretrained.Load(convnext, ConvNextConfig.Miniature(64), CPU);
        using var pixels = randn(1, 3, 64, 64);
        using (var x = llava.Tower.forward(pixels)) using (var y = tower.forward(pixels)) Assert.True(Same(x, y));

        var ola = OlaConfig.Paper with { Specs = OlaConfig.MiniatureSpecs };
        using var model = OlaVlmModel.Create(llava, ola);
        var dir = TestFiles.TempDir("fullscale", "convnext-llava");
        OlaPretrained.Save(model, dir, convnext);
        using var back = OlaPretrained.Load(dir, convnext, tok.ImageId, CPU, convNext: ConvNextConfig.Miniature(64));
        var mine = model.state_dict();
        foreach (var (name, t) in back.state_dict())
            Assert.True(Same(t, mine[name]), $"{name} differs after save and load");
        Assert.Equal(ola.Tasks, back.OlaConfig!.Tasks);
    }

    [Fact]
    public void ALanguageModelFolderWithAStrayTensorIsRefusedNamingIt()
    {
        var dir = TestFiles.TempDir("fullscale", "stray");
        foreach (var f in Directory.GetFiles(In.Llm)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var sd = Checkpoint.Read(dir);
        sd["model.layers.0.self_attn.extra.weight"] = zeros(2, 2);
        TestFiles.SaveSafetensors(Path.Combine(dir, "model.safetensors"), sd);
        var e = Assert.Throws<CheckpointMismatchException>(() => LlavaParts.Load(dir, In.Vision, -200, CPU));
        Assert.Contains("model.layers.0.self_attn.extra.weight", e.Message);
    }

    [Fact]
    public void CvBenchLoadsFromJsonlOrParquetAlike()
    {
        var jsonl = CvBenchRun.Load(DatasetFixtures.Root("cv-bench"));
        var root = DatasetFixtures.Copy("cv-bench");
        DatasetFixtures.WriteCvBenchParquet(root);
        File.Delete(Path.Combine(root, "test.jsonl"));
        Directory.Delete(Path.Combine(root, "img"), recursive: true);   // the parquet files carry the images
        var parquet = CvBenchRun.Load(root);
        string Json(CvBenchQuestion q) => System.Text.Json.JsonSerializer.Serialize(q.Item with { Image = null });   // parquet: the Image feature's own path
        Assert.Equal(jsonl.Select(Json), parquet.Select(Json));
        for (int i = 0; i < jsonl.Count; i++)
        {
            using var a = jsonl[i].LoadImage();
            using var b = parquet[i].LoadImage();
            Assert.Equal(RgbPixels.From(a).Data, RgbPixels.From(b).Data);
        }
        Assert.Equal(2, CvBenchRun.Load(root, limit: 2).Count);
    }

    [Fact]
    public void AnAnswerLineCutShortIsDroppedOnResume()
    {
        var file = Path.Combine(TestFiles.TempDir("fullscale", "answers"), CvBenchRun.AnswersFile);
        File.WriteAllText(file, "{\"idx\": 0, \"prediction\": \"(A)\"}\n{\"idx\": 1, \"predic");
        var answers = CvBenchRun.ReadAnswers(file);
        Assert.Equal(new Dictionary<int, string> { [0] = "(A)" }, answers);
        Assert.Single(File.ReadAllLines(file));
    }

    /// The plan's counts are the released models' (FullSizeLayoutTests' manifests), and its figures are what
    /// docs/full-scale.md quotes.
    [Fact]
    public void PlanCountsMatchTheReleasedModels()
    {
        Assert.Equal(3_821_079_552, FullScalePlan.DecoderCount(Phi3Config.Mini4k()));
        Assert.Equal(8_030_261_248, FullScalePlan.DecoderCount(LlamaConfig.Llama3_8B()));
        foreach (var (name, llm, sys) in new[] { ("Phi-3-mini", Phi3Config.Mini4k(), 13), ("Llama-3-8B", LlamaConfig.Llama3_8B(), 38) })
        {
            long heads;
            using (var h = new OlaHeads(OlaConfig.Paper, llm.HiddenSize, llm.NumLayers, new Device("meta"))) heads = h.parameters().Sum(p => p.numel());
            var plan = FullScalePlan.Paper(llm, heads, sys);
            output.WriteLine($"{name}: OLA-VLM modules {heads:N0}, LoRA r128 {plan.LoraParams:N0}, projector {plan.ProjectorParams:N0}");
            foreach (var line in plan.Lines()) output.WriteLine(line);
        }
    }
}
