using OlaVlm.Model;
using OlaVlm.Ola;
using OlaVlm.Stages;
using OlaVlm.Teachers;
using OlaVlm.Training;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Experiments;

/// Where a full-scale run reads and writes. Llm: a Hugging Face Phi-3 or Llama-3 folder (config, weights, tokenizer).
/// Vision: a Hugging Face CLIP folder or an OpenCLIP ConvNeXt release. PtData: LLaVA-Pretrain (blip_laion_cc_sbu_558k.json
/// + images/). IftData: the LLaVA-1.5 665K mix folder, or an ALLaVA-4V folder. CvBench: the release (test.jsonl + img/,
/// or the parquet files). Out: everything the run writes.
public sealed record FullScalePaths(string Llm, string Vision, string PtData, string IftData, string CvBench, string Out);

/// Every knob of one full-scale run — PT with the real teachers, IFT (full or LoRA), CV-Bench — with OLA-VLM's
/// defaults (scripts/train/pretrain.sh, finetune.sh; LLaVA-1.5's finetune_lora.sh for LoRA). Global batches are the
/// paper's (PT 256, IFT 128) reached on one GPU by accumulation: the micro-batches below fit an 80 GB GPU by
/// docs/full-scale.md's plan (FullScalePlan) for both LLMs — PT 8 (Llama-3-8B fits 11, Phi-3-mini 21); IFT 2, which
/// full IFT of Phi-3-mini needs (it fits 3; full IFT of Llama-3-8B fits no single GPU), while LoRA fits 8 (Llama-3-8B)
/// or 16 (Phi-3-mini): raise ift-batch and lower ift-accum for LoRA. Steps follow from the data: one epoch,
/// ⌊records / global batch⌋ steps (558,128 / 256 = 2,180; 665,298 / 128 = 5,197).
public sealed record FullScaleConfig
{
    public required FullScalePaths Paths { get; init; }
    public TeacherPaths Teachers { get; init; } = new(null, null, null);
    /// true: OLA-VLM (the teachers' embedding losses in PT); false: the LLaVA-1.5 baseline, no teachers.
    public bool Ola { get; init; } = true;
    /// IFT with LoRA adapters on the LLM (LoraConfig) instead of all its weights.
    public bool Lora { get; init; }
    public LoraConfig LoraConfig { get; init; } = LoraConfig.Llava15;
    /// The first N records of each training set (a subset: its targets are cached when they fit); null = all.
    public int? Limit { get; init; }
    /// The first N CV-Bench items; null = all 2,638.
    public int? BenchLimit { get; init; }
    /// PT: projector (+ OLA-VLM's modules) at 1e-3, LLM and tower frozen; checkpoints hold only what trains.
    public StageConfig Pretrain { get; init; } = StageConfig.PaperPretrain with { BatchSize = 8, GradAccum = 32, CheckpointEvery = 200, CheckpointTrainableOnly = true };
    /// IFT: projector + LLM at 2e-5 (with LoRA: adapters at LoraConfig.LearningRate, projector 2e-5).
    public StageConfig Finetune { get; init; } = StageConfig.PaperFinetune with { BatchSize = 2, GradAccum = 64, CheckpointEvery = 200, CheckpointTrainableOnly = true };
    public TargetMode Targets { get; init; } = TargetMode.Auto;
    /// bf16 weights with fp32 master weights for what trains; null = on a GPU, off on the CPU.
    public bool? Bf16 { get; init; }
    /// OneFormer's and unCLIP's compute dtype (DAv2 computes in float32); null = float32.
    public ScalarType? TeacherDtype { get; init; }
    /// The OpenCLIP ConvNeXt's shape when Vision is one (null = CLIP-ConvNeXt-XXL at 768²).
    public ConvNextConfig? ConvNext { get; init; }
    /// OLA-VLM's settings; the predictors' target shapes come from the teachers (FullScaleTeachers.ConfigFor).
    public OlaConfig OlaBasis { get; init; } = OlaConfig.Paper;
    public long Seed { get; init; } = 42;
    public int ModelMaxLength { get; init; } = 4096;
    public int MaxNewTokens { get; init; } = 128;
    public int EvalBatch { get; init; } = 1;
    public MalformedRecordPolicy Policy { get; init; } = MalformedRecordPolicy.Throw;
    /// Stop (checkpointed) after this many steps of this stage: a rerun of the same command resumes there.
    public (StageKind Stage, int Steps)? StopAfter { get; init; }
    public Device? Device { get; init; }

    public bool Subset => Limit is not null;
}
