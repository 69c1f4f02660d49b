using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using OlaVlm.Data;
using OlaVlm.Data.Layouts;
using OlaVlm.Model;
using OlaVlm.Ola;
using OlaVlm.Stages;
using OlaVlm.Teachers;
using OlaVlm.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Experiments;

/// The ingredients of a full-scale run, loaded once: the tokenizer and chat template of the LLM folder, LLaVA
/// assembled from the LLM and the tower (projector drawn from the seed) with OLA-VLM's modules (drawn from seed + 1)
/// fitted to the teachers, the teachers themselves on the model's device, and — per stage — the streamed data and
/// the teachers' targets.
public sealed class FullScaleParts : IDisposable
{
    public required ITokenizer Tokenizer { get; init; }
    public required ChatTemplate Template { get; init; }
    public required OlaVlmModel Model { get; init; }
    public required IReadOnlyDictionary<OlaTask, ITeacher> Teachers { get; init; }
    public required Device Device { get; init; }
    public required bool Bf16 { get; init; }

    public static FullScaleParts Load(FullScaleConfig c, Action<string> log)
    {
        var device = c.Device ?? Core.Devices.Default;
        bool bf16 = c.Bf16 ?? device.type == DeviceType.CUDA;
        var (tok, template) = PretrainedTokenizer.Load(c.Paths.Llm);
        if (c.Ola && !c.Teachers.Any) throw new ArgumentException("full-scale run: the OLA-VLM arm needs its teachers (DAv2, OneFormer, unCLIP paths), or run the LLaVA-1.5 arm");
        var teachers = c.Ola ? FullScaleTeachers.Load(c.Teachers, device, c.TeacherDtype, log) : new Dictionary<OlaTask, ITeacher>();
        try
        {
            var sw = Stopwatch.StartNew();
            manual_seed(c.Seed);
            var llava = LlavaParts.Load(c.Paths.Llm, c.Paths.Vision, tok.ImageId, device, bf16 ? ScalarType.BFloat16 : null, c.ConvNext);
            manual_seed(c.Seed + 1);
            var model = OlaVlmModel.Create(llava, c.Ola ? FullScaleTeachers.ConfigFor(teachers, c.OlaBasis) : null);
            if (bf16) model.to(ScalarType.BFloat16);
            log($"model: {llava.Config.Text.ModelType} {Count(llava.LanguageModel) / 1e9:F2} B + {(llava.Config.ConvNext is null ? "CLIP" : "ConvNeXt")} tower " +
                $"{Count((nn.Module)llava.Tower) / 1e6:F0} M{(model.Heads is { } h ? $" + OLA-VLM {Count(h) / 1e6:F1} M ({string.Join(", ", h.Config.Tasks.Select(t => t.Name()))})" : " (LLaVA-1.5)")}" +
                $", {(bf16 ? "bf16" : "fp32")} on {Core.Devices.Describe(device)}, {sw.Elapsed.TotalSeconds:F1} s");
            return new FullScaleParts { Tokenizer = tok, Template = template, Model = model, Teachers = teachers, Device = device, Bf16 = bf16 };
        }
        catch { foreach (var t in teachers.Values) t.Dispose(); throw; }
    }

    static long Count(nn.Module m) => m.parameters().Sum(p => p.numel());

    /// A training set under `root` (the first of `layouts` whose JSON is there), streamed: the tower's processor
    /// with LLaVA's padding when `pad`.
    public StreamedStageData Data(string root, LlavaLayout[] layouts, bool pad, FullScaleConfig c, Action<string> log)
    {
        var sw = Stopwatch.StartNew();
        var layout = LlavaRecordIndex.Detect(root, layouts);
        var index = LlavaRecordIndex.Build(layout, root, new LayoutOptions { Policy = c.Policy, MaxRecords = c.Limit });
        log($"{layout.Name}: {index.Count:N0} records ({index.ImageCount:N0} with an image) from {index.JsonPath}, indexed in {sw.Elapsed.TotalSeconds:F1} s" +
            (index.Skips.Count > 0 ? $"; {index.Skips}" : ""));
        var processor = TowerImageProcessor.For(Model.Llava.Config, c.Paths.Vision, pad);
        return new StreamedStageData(new StreamedConversations(index, Tokenizer, Template, processor)
        {
            Policy = c.Policy, ModelMaxLength = c.ModelMaxLength, KeepImages = Math.Max(256, 4 * Math.Max(c.Pretrain.BatchSize, c.Finetune.BatchSize)),
        });
    }

    /// The teachers' targets for PT's images: a cache under `dir` or on the fly, as TargetPlan decides (and says).
    public (Dictionary<OlaTask, ITargetSource> Sources, TargetPlan Plan) Targets(StreamedStageData pt, FullScaleConfig c, string dir, Action<string> log)
    {
        var plan = TargetPlan.Decide(Teachers.Values.Select(t => t.TargetShape), pt.Data.Index.ImageCount, c.Subset, dir, c.Targets);
        log(plan.ToString());
        if (plan.Mode == TargetMode.OnTheFly)
            return (Teachers.ToDictionary(kv => kv.Key, kv => (ITargetSource)RawImageTargets.OnTheFly(kv.Value, pt.Data.Image)), plan);
        var ids = Enumerable.Range(0, pt.Count).Select(i => pt.Data.Index.Record(i).Image).OfType<string>().Distinct().ToList();
        var split = "pt-" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", ids))))[..12].ToLowerInvariant();
        var sources = new Dictionary<OlaTask, ITargetSource>();
        foreach (var (task, teacher) in Teachers)
        {
            var sw = Stopwatch.StartNew();
            using var inputs = RawImageTargets.Inputs(teacher, ids, pt.Data.Image, batchSize: 16);
            sources[task] = TargetCache.OpenOrBuild(teacher, inputs.Items, dir, split, batchSize: 16, log: log);
            log($"{teacher.Name}: {ids.Count:N0} targets in {TargetCache.DataFile(dir, teacher.Name, split)} ({sw.Elapsed.TotalSeconds:F1} s)");
        }
        return (sources, plan);
    }

    public void Dispose()
    {
        Model.Dispose();
        foreach (var t in Teachers.Values) t.Dispose();
    }
}
