using System.Diagnostics;
using OlaVlm.Model;
using OlaVlm.Ola;
using OlaVlm.Teachers;
using OlaVlm.Teachers.DepthAnything;
using OlaVlm.Teachers.OneFormer;
using OlaVlm.Teachers.UnClip;
using OlaVlm.World;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;
using Image = SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>;

namespace OlaVlm.Experiments;

/// One environment variable of notebook 07: what it names and whether it is there.
public sealed record CheckpointPath(string Variable, string What, string? Path, bool Present);

/// One teacher run on a few images: where its weights came from, its target, and the time per image.
public sealed record TeacherTiming(string Teacher, string Task, string Weights, string Target, int Images, double PreprocessMsPerImage,
                                   double EncodeMsPerImage, string Decode);

/// What notebook 07 shows: where the full-scale checkpoints are (environment variables), each teacher run on a few
/// images — the released weights when present, otherwise the same class with a tiny random configuration (what CI
/// runs) — the depth teacher's decoded pictures, and the full-scale command.
public static class FullScaleShowcase
{
    public static readonly IReadOnlyList<(string Variable, string What)> Variables =
    [
        ("OLA_LLM", "LLM folder: microsoft/Phi-3-mini-4k-instruct or meta-llama/Meta-Llama-3-8B-Instruct"),
        ("OLA_VISION", "vision tower: openai/clip-vit-large-patch14-336 (or the CLIP-ConvNeXt-XXL release)"),
        ("OLA_DAV2", "depth teacher: depth_anything_v2_vitl.pth"),
        ("OLA_ONEFORMER", "seg teacher: shi-labs/oneformer_coco_swin_large folder"),
        ("OLA_UNCLIP", "gen teacher: stabilityai/stable-diffusion-2-1-unclip folder (image_encoder/, feature_extractor/)"),
        ("OLA_PT_DATA", "LLaVA-Pretrain folder (blip_laion_cc_sbu_558k.json, images/)"),
        ("OLA_IFT_DATA", "LLaVA-1.5 mix folder (llava_v1_5_mix665k.json, coco/, gqa/, ocr_vqa/, textvqa/, vg/)"),
        ("OLA_CVBENCH", "nyu-visionx/CV-Bench folder (test.jsonl + img/, or the parquet files)"),
    ];

    public static List<CheckpointPath> Paths() => Variables.Select(v =>
    {
        var p = Environment.GetEnvironmentVariable(v.Variable);
        return new CheckpointPath(v.Variable, v.What, string.IsNullOrWhiteSpace(p) ? null : p, !string.IsNullOrWhiteSpace(p) && (File.Exists(p) || Directory.Exists(p)));
    }).ToList();

    static string? PathOf(string variable) => Paths().FirstOrDefault(p => p.Variable == variable && p.Present)?.Path;

    /// Each teacher from its released weights when its variable names them, else a tiny random one; `log` says which and why.
    public static Dictionary<OlaTask, (ITeacher Teacher, string Weights)> Teachers(Device device, Action<string>? log = null)
    {
        var result = new Dictionary<OlaTask, (ITeacher, string)>();
        foreach (var (task, variable) in new[] { (OlaTask.Depth, "OLA_DAV2"), (OlaTask.Seg, "OLA_ONEFORMER"), (OlaTask.Gen, "OLA_UNCLIP") })
        {
            var path = PathOf(variable);
            if (path is null)
            {
                log?.Invoke($"{variable} not set (or not found): {task.Name()} teacher with a tiny random configuration");
                result[task] = (Tiny(task, device), "tiny random");
                continue;
            }
            var paths = new TeacherPaths(task == OlaTask.Depth ? path : null, task == OlaTask.Seg ? path : null, task == OlaTask.Gen ? path : null);
            result[task] = (FullScaleTeachers.Load(paths, device, log: log)[task], path);
        }
        return result;
    }

    /// The class the released weights load into, with a tiny random configuration at the reference's image sizes
    /// (DAv2 at 336², OneFormer's 768² → 800², unCLIP's 224²), seeded.
    public static ITeacher Tiny(OlaTask task, Device device)
    {
        manual_seed(0);
        switch (task)
        {
            case OlaTask.Depth:
                var dav2 = new DepthAnythingV2(DepthAnythingV2Config.Tiny(), device);
                MiniTeacher.ResetNorms(dav2);
                return new DepthAnythingV2Teacher(dav2, "tiny-random");
            case OlaTask.Seg:
                return new OneFormerSegTeacher(new SwinBackbone(SwinConfig.Tiny, device), new OneFormerPreprocess(new OneFormerProcessorConfig()), device: device);
            default:
                var clip = new ClipVisionModelWithProjection(new ClipVisionConfig(32, 64, 2, 4, ImageSize: 224, PatchSize: 14, HiddenAct: "gelu", ProjectionDim: 24), device);
                MiniTeacher.ResetNorms(clip);
                return new UnClipImageEncoderTeacher(clip, new ClipImageProcessor(), "tiny-random");
        }
    }

    /// Each teacher on `images`: its reference preprocessing and Encode, timed (after one warm-up image); the targets by task.
    public static (List<TeacherTiming> Timings, Dictionary<OlaTask, Tensor> Targets) Run(IReadOnlyDictionary<OlaTask, (ITeacher Teacher, string Weights)> teachers,
                                                                                      IReadOnlyList<Image> images)
    {
        var timings = new List<TeacherTiming>();
        var targets = new Dictionary<OlaTask, Tensor>();
        foreach (var (task, (teacher, weights)) in teachers)
        {
            using (var warm = RawImageTargets.Preprocess(teacher, [images[0]])) teacher.Encode(warm).Dispose();
            var sw = Stopwatch.StartNew();
            using var pixels = RawImageTargets.Preprocess(teacher, images);
            double pre = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            var target = teacher.Encode(pixels);
            double enc = sw.Elapsed.TotalMilliseconds;
            targets[task] = target;
            timings.Add(new(teacher.Name, task.Name(), weights, Core.Checked.Fmt(target.shape), images.Count, pre / images.Count, enc / images.Count,
                            teacher is DepthAnythingV2Teacher ? "DPT head → depth" : "not ported (Decode is null)"));
        }
        return (timings, targets);
    }

    /// Per image: the image, its target decoded by the DPT head (OLA-VLM's depth pictures) and the authors' own depth
    /// (the head on four distinct blocks), colour-mapped (bright = larger output, i.e. nearer for DAv2).
    public static List<Image> DepthGallery(DepthAnythingV2Teacher teacher, IReadOnlyList<Image> images, Tensor target)
    {
        using var scope = NewDisposeScope();
        var decoded = teacher.Decode(target)!.cpu();
        using var pixels = RawImageTargets.Preprocess(teacher, images);
        var own = DepthAnythingV2Teacher.MinMax(teacher.DepthMap(pixels)).cpu();
        int s = teacher.ImageSize;
        var tiles = new List<Image>();
        for (int i = 0; i < images.Count; i++)
        {
            tiles.Add(images[i].Clone());
            tiles.Add(Colormaps.Depth(decoded[i].data<float>().ToArray(), s, s, 0, 1));
            tiles.Add(Colormaps.Depth(own[i].data<float>().ToArray(), s, s, 0, 1));
        }
        return tiles;
    }

    /// The full-scale command with the variables' paths (placeholders where unset).
    public static string Command()
    {
        string P(string v, string placeholder) => PathOf(v) ?? placeholder;
        return "dotnet run --project src/OlaCheck -c Release -- fullscale \\\n" +
               $"  --llm {P("OLA_LLM", "$OLA_LLM")} --vision {P("OLA_VISION", "$OLA_VISION")} \\\n" +
               $"  --dav2 {P("OLA_DAV2", "$OLA_DAV2")} --oneformer {P("OLA_ONEFORMER", "$OLA_ONEFORMER")} --unclip {P("OLA_UNCLIP", "$OLA_UNCLIP")} \\\n" +
               $"  --pt-data {P("OLA_PT_DATA", "$OLA_PT_DATA")} --ift-data {P("OLA_IFT_DATA", "$OLA_IFT_DATA")} --cvbench {P("OLA_CVBENCH", "$OLA_CVBENCH")} \\\n" +
               "  --out out/fullscale/ola-phi3   # add --lora for LoRA IFT, --arm llava for the baseline, --limit N for a subset";
    }
}
