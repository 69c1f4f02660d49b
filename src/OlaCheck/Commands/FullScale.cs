using System.Globalization;
using OlaVlm.Experiments;
using OlaVlm.Model;
using OlaVlm.Stages;
using OlaVlm.Teachers;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaCheck.Commands;

/// OLA-VLM (or the LLaVA-1.5 baseline) at full scale from released checkpoints: PT with the real teachers, IFT (full or
/// LoRA), CV-Bench — Experiments.FullScaleRun. Rerun the same command after an interruption to resume.
/// docs/full-scale.md has the memory and time plan; README "CPU and CUDA" the downloads.
public static class FullScale
{
    public static readonly Command Command = new("fullscale",
        "--llm DIR --vision DIR [--dav2 FILE --oneformer DIR --unclip DIR] --pt-data DIR --ift-data DIR --cvbench DIR --out DIR " +
        "[--eval-only LLAVA_DIR] [--lora] [--arm ola|llava] [--limit N] [--bench-limit N] [--targets auto|cache|onthefly] [--device cpu|cuda] " +
        "[dav2-encoder=vitl] [pt-batch=8 pt-accum=32] [ift-batch=2 ift-accum=64] [checkpoint-every=200] [seed=42] [bf16=auto|on|off] " +
        "[teacher-dtype=fp32|bf16] [max-new-tokens=128] [eval-batch=1] [max-length=4096] [convnext=xxl|miniature] [skip-bad=0|1] [stop=pt:N|ift:N]",
        "trains OLA-VLM from real checkpoints with the real teachers and scores CV-Bench (resumable; exit 3 = stopped by stop=); " +
        "--eval-only scores a trained LLaVA folder (the data options are then not needed)", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("fullscale", args, flags: ["--lora"],
            options: ["--eval-only", "--llm", "--vision", "--dav2", "--oneformer", "--unclip", "--pt-data", "--ift-data", "--cvbench", "--out", "--arm", "--limit", "--bench-limit", "--targets", "--device"],
            settings: ["dav2-encoder", "pt-batch", "pt-accum", "ift-batch", "ift-accum", "checkpoint-every", "seed", "bf16", "teacher-dtype", "max-new-tokens", "eval-batch", "max-length", "convnext", "skip-bad", "stop"]);
        if (a.Option("--eval-only") is string folder)
        {
            var only = Config(a, evalOnly: true);
            var score = FullScaleRun.EvaluateFolder(only, Path.GetFullPath(folder));
            Console.WriteLine($"done: CV-Bench overall {score.Overall:F4}; answers and scores in {Path.Combine(only.Paths.Out, "cv-bench")}");
            return 0;
        }
        var config = Config(a, evalOnly: false);
        var result = FullScaleRun.Run(config, Console.WriteLine);
        if (result.Stopped)
        {
            Console.WriteLine($"stopped at {result.StoppedAt}: run the same command again to resume");
            return 3;
        }
        Console.WriteLine($"done: CV-Bench overall {result.Score!.Overall:F4}; final checkpoint {result.Final}; summary {Path.Combine(result.Out, "summary.json")}");
        return 0;
    }

    static FullScaleConfig Config(CommandArgs a, bool evalOnly)
    {
        string Need(string o) => a.Option(o) is string v ? Path.GetFullPath(v)
            : evalOnly && o is "--pt-data" or "--ift-data" ? "" : throw new UsageException($"fullscale: {o} is required");
        string? Maybe(string o) => a.Option(o) is string v ? Path.GetFullPath(v) : null;
        var arm = a.Option("--arm") ?? "ola";
        if (arm is not ("ola" or "llava")) throw new UsageException($"fullscale: --arm {arm} (ola or llava)");
        var d = new FullScaleConfig { Paths = new("", "", "", "", "", "") };
        return d with
        {
            Paths = new(Need("--llm"), Need("--vision"), Need("--pt-data"), Need("--ift-data"), Need("--cvbench"), Need("--out")),
            Teachers = new(Maybe("--dav2"), Maybe("--oneformer"), Maybe("--unclip"), a.Text("dav2-encoder") ?? "vitl"),
            Ola = arm == "ola", Lora = a.Flag("--lora"),
            Limit = OptionInt(a, "--limit"), BenchLimit = OptionInt(a, "--bench-limit"),
            Pretrain = d.Pretrain with { BatchSize = a.Int("pt-batch", d.Pretrain.BatchSize), GradAccum = a.Int("pt-accum", d.Pretrain.GradAccum), CheckpointEvery = a.Int("checkpoint-every", d.Pretrain.CheckpointEvery) },
            Finetune = d.Finetune with { BatchSize = a.Int("ift-batch", d.Finetune.BatchSize), GradAccum = a.Int("ift-accum", d.Finetune.GradAccum), CheckpointEvery = a.Int("checkpoint-every", d.Finetune.CheckpointEvery) },
            Targets = (a.Option("--targets") ?? "auto") switch
            {
                "auto" => TargetMode.Auto, "cache" => TargetMode.Cache, "onthefly" => TargetMode.OnTheFly,
                var t => throw new UsageException($"fullscale: --targets {t} (auto, cache or onthefly)"),
            },
            Device = a.Option("--device") is string dev ? new Device(dev) : null,
            Bf16 = (a.Text("bf16") ?? "auto") switch { "auto" => null, "on" => true, "off" => false, var b => throw new UsageException($"fullscale: bf16={b} (auto, on, off)") },
            TeacherDtype = (a.Text("teacher-dtype") ?? "fp32") switch { "fp32" => null, "bf16" => ScalarType.BFloat16, var t => throw new UsageException($"fullscale: teacher-dtype={t} (fp32, bf16)") },
            ConvNext = (a.Text("convnext") ?? "xxl") switch { "xxl" => null, "miniature" => ConvNextConfig.Miniature(), var x => throw new UsageException($"fullscale: convnext={x} (xxl, miniature)") },
            Seed = a.Int("seed", 42), MaxNewTokens = a.Int("max-new-tokens", 128), EvalBatch = Math.Max(1, a.Int("eval-batch", 1)),
            ModelMaxLength = a.Int("max-length", 4096),
            Policy = a.Int("skip-bad", 0) == 1 ? MalformedRecordPolicy.SkipAndReport : MalformedRecordPolicy.Throw,
            StopAfter = a.Text("stop") is string s ? Stop(s) : null,
        };
    }

    static int? OptionInt(CommandArgs a, string option) => a.Option(option) is not string v ? null
        : int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n
        : throw new UsageException($"fullscale: {option} {v} is not a whole number > 0");

    static (StageKind, int) Stop(string s) => s.Split(':') switch
    {
        ["pt", var n] when int.TryParse(n, out var k) && k > 0 => (StageKind.Pretrain, k),
        ["ift", var n] when int.TryParse(n, out var k) && k > 0 => (StageKind.Finetune, k),
        _ => throw new UsageException($"fullscale: stop={s} (pt:N or ift:N, N > 0)"),
    };
}
