using OlaVlm.Model;
using OlaVlm.Stages;
using OlaVlm.Teachers.DepthAnything;
using OlaVlm.Teachers.OneFormer;
using OlaVlm.Teachers.UnClip;
using OlaVlm.Training;

namespace OlaVlm.Experiments;

/// Which memory a stage holds and how long it takes, on paper (docs/full-scale.md shows the same formulas with the
/// numbers). B = micro-batch, T = tokens per sequence (system + image + task tokens + text), L layers of width d,
/// key/value width d_kv, MLP width I, vocabulary V, w = bytes per weight (2 in bf16):
///   weights       w·(N_llm + N_tower + N_projector + N_ola) + 4·N_teachers (teachers in fp32)
///   training      (w + 4 + 8)·N_trained: a gradient, an fp32 master copy and AdamW's two fp32 moments per trained weight
///   activations   B·[L·T·(7d + 3d_kv + 4I)·w + T·V·(w + 4)] — what each decoder layer keeps for the backward pass
///                 (two norms' inputs and outputs, q/k/v, rotated q/k, attention output; gate, up, silu(gate), their
///                 product), and the logits with their fp32 copy for the loss. No gradient checkpointing here.
///   FLOPs/sample  LLM: 2·N_llm·T forward, +2·N_llm·T for the gradient of its input (PT: frozen, the gradient only
///                 passes through to the projector), +2·N_llm·T for its weights (full IFT); tower forward 2·N_tower·T_img;
///                 PT adds the teachers' forwards (ViT: 2·(n−1)·3P²·D + layers·(24·n·D² + 4·n²·D); Swin: SwinFlops).
///   hours         samples · FLOPs/sample / (peak · MFU) / 3600.
/// One stage of FullScalePlan as a table row (GiB; static = weights, teachers in PT, training state, reserve).
public sealed record PlanRow(string Llm, string Stage, double TrainedMillions, double StaticGiB, double ActivationGiBPerSequence, int Tokens,
                             int MicroBatchOn80GB, double TflopPerSample, double HoursOnH100);

public sealed record FullScalePlan(LlamaConfig Llm, long LlmParams, long TowerParams, int ImageTokens, double TowerFlops,
                                   long ProjectorParams, long OlaParams, int TaskTokens, long TeacherParams, double TeacherFlops,
                                   long LoraParams, double PtText, double IftText, int SystemTokens, int WeightBytes = 2)
{
    public const double GiB = 1024.0 * 1024 * 1024, H100Bf16 = 989e12, A100Bf16 = 312e12;
    /// What the CUDA context, cuBLAS workspaces and the caching allocator's slack take before any tensor (assumed).
    public const double ReservedBytes = 4 * GiB;

    public int PtTokens => (int)Math.Round(SystemTokens + ImageTokens + TaskTokens + PtText);
    public int IftTokens => (int)Math.Round(SystemTokens + ImageTokens + TaskTokens + IftText);

    public double WeightsBytes => WeightBytes * (double)(LlmParams + TowerParams + ProjectorParams + OlaParams) + 4.0 * TeacherParams;

    /// Trained weights of a stage: PT the projector and OLA-VLM's modules; IFT the projector and the LLM or its adapters.
    public long Trained(StageKind kind, bool lora) => kind == StageKind.Pretrain ? ProjectorParams + OlaParams
        : ProjectorParams + (lora ? LoraParams : LlmParams);

    public double TrainingBytes(StageKind kind, bool lora) => (WeightBytes + 4 + 8) * (double)Trained(kind, lora);

    public double ActivationBytes(int tokens) =>
        (double)Llm.NumLayers * tokens * (7.0 * Llm.HiddenSize + 3.0 * Llm.NumKvHeads * Llm.HeadDim + 4.0 * Llm.IntermediateSize) * WeightBytes
        + (double)tokens * Llm.VocabSize * (WeightBytes + 4);

    public double StaticBytes(StageKind kind, bool lora) => WeightsBytes - (kind == StageKind.Pretrain ? 0 : 4.0 * TeacherParams)
        + TrainingBytes(kind, lora) + ReservedBytes;

    /// The largest micro-batch whose memory fits `gpuBytes` (0: not even one sequence fits).
    public int MicroBatch(StageKind kind, bool lora, double gpuBytes) =>
        Math.Max(0, (int)Math.Floor((gpuBytes - StaticBytes(kind, lora)) / ActivationBytes(kind == StageKind.Pretrain ? PtTokens : IftTokens)));

    public double FlopsPerSample(StageKind kind, bool lora)
    {
        int t = kind == StageKind.Pretrain ? PtTokens : IftTokens;
        double llmPasses = kind == StageKind.Pretrain || lora ? 4 : 6;
        return llmPasses * LlmParams * t + TowerFlops + (kind == StageKind.Pretrain ? TeacherFlops : 0);
    }

    public double Hours(StageKind kind, bool lora, long samples, double peak = H100Bf16, double mfu = 0.4) =>
        samples * FlopsPerSample(kind, lora) / (peak * mfu) / 3600;

    /// The lines a run prints before it starts: memory and the projected time of each stage on one 80 GB H100.
    public IEnumerable<string> Lines(long ptSamples = 558_128, long iftSamples = 665_298)
    {
        const double gpu = 80e9;
        yield return $"plan (docs/full-scale.md; bf16, fp32 masters and AdamW, no gradient checkpointing, 80 GB, H100 at 40% MFU): " +
                     $"weights {WeightsBytes / GiB:F1} GiB (teachers {4.0 * TeacherParams / GiB:F1})";
        foreach (var (kind, lora, n, name) in new[] { (StageKind.Pretrain, false, ptSamples, "PT"), (StageKind.Finetune, false, iftSamples, "IFT full"), (StageKind.Finetune, true, iftSamples, "IFT LoRA") })
        {
            int b = MicroBatch(kind, lora, gpu);
            yield return $"  {name}: trained {Trained(kind, lora) / 1e6:N0} M → {TrainingBytes(kind, lora) / GiB:F1} GiB; activations " +
                         $"{ActivationBytes(kind == StageKind.Pretrain ? PtTokens : IftTokens) / GiB:F2} GiB/sequence of {(kind == StageKind.Pretrain ? PtTokens : IftTokens)} tokens; " +
                         (b == 0 ? "does NOT fit one 80 GB GPU; " : $"micro-batch ≤ {b}; ") +
                         $"{FlopsPerSample(kind, lora) / 1e12:F1} TFLOP/sample → {Hours(kind, lora, n):F1} h for {n:N0} samples";
        }
    }

    /// The table rows of Lines: one per stage, on one 80 GB GPU, H100 bf16 at 40% MFU.
    public IEnumerable<PlanRow> Rows(string llm, long ptSamples = 558_128, long iftSamples = 665_298) =>
        new[] { (StageKind.Pretrain, false, ptSamples, "PT"), (StageKind.Finetune, false, iftSamples, "IFT full"), (StageKind.Finetune, true, iftSamples, "IFT LoRA r128") }
        .Select(s =>
        {
            int tokens = s.Item1 == StageKind.Pretrain ? PtTokens : IftTokens;
            return new PlanRow(llm, s.Item4, Trained(s.Item1, s.Item2) / 1e6, StaticBytes(s.Item1, s.Item2) / GiB, ActivationBytes(tokens) / GiB, tokens,
                               MicroBatch(s.Item1, s.Item2, 80e9), FlopsPerSample(s.Item1, s.Item2) / 1e12, Hours(s.Item1, s.Item2, s.Item3));
        });

    /// The paper's setting for `llm`, OLA-VLM's modules counted from OlaConfig.Paper's heads built on the meta device.
    public static FullScalePlan Paper(LlamaConfig llm, int systemTokens)
    {
        using var heads = new Ola.OlaHeads(Ola.OlaConfig.Paper, llm.HiddenSize, llm.NumLayers, new TorchSharp.torch.Device("meta"));
        return Paper(llm, heads.parameters().Sum(p => p.numel()), systemTokens);
    }

    /// One image through a ViT (GpuProjection's formula): n tokens with the class token, width D, patch P.
    public static double VitFlops(int tokens, int dim, int layers, int patch, double mlpRatio = 4) =>
        2.0 * (tokens - 1) * 3 * patch * patch * dim + layers * ((8.0 + 4 * mlpRatio) * tokens * (double)dim * dim + 4.0 * tokens * tokens * dim);

    /// LoRA's trained weights: r·(in + out) per adapted Linear (LLaVA's rule: every Linear of the decoder but lm_head).
    public static long LoraCount(LlamaConfig c, int r)
    {
        long d = c.HiddenSize, kv = (long)c.NumKvHeads * c.HeadDim, i = c.IntermediateSize;
        return (long)c.NumLayers * r * ((d + d) + 2 * (d + kv) + (d + d) + 2 * (d + i) + (i + d));
    }

    public static long DecoderCount(LlamaConfig c)
    {
        long d = c.HiddenSize, kv = (long)c.NumKvHeads * c.HeadDim, i = c.IntermediateSize;
        long layer = d * (d + 2 * kv) + d * d + 3 * d * i + 2 * d;
        return c.VocabSize * d * (c.TieWordEmbeddings ? 1 : 2) + c.NumLayers * layer + d;
    }

    /// The paper's setting on paper: an LLM with CLIP ViT-L/14-336, the projector (mlp2x_gelu), OLA-VLM's modules
    /// (olaParams: counted from the built heads, FullScalePlanTests) and the three teachers at their released sizes.
    public static FullScalePlan Paper(LlamaConfig llm, long olaParams, int systemTokens, double ptText = 40, double iftText = 300, int loraR = 128)
    {
        var v = ClipVisionConfig.VitL14_336();
        long tower = 303_507_456;   // CLIP ViT-L/14-336's vision tower (FullSizeLayoutTests)
        long projector = (long)v.HiddenSize * llm.HiddenSize + llm.HiddenSize + (long)llm.HiddenSize * llm.HiddenSize + llm.HiddenSize;
        long teachers = 335_315_649 + 195_698_868 + 632_076_800;   // DAv2-L (with its DPT head), OneFormer's Swin-L backbone, unCLIP's image encoder
        double teacherFlops = VitFlops(577, 1024, 24, 14) + 2.0 * SwinFlops.Macs(SwinConfig.OneFormerCocoSwinLarge, 800, 800) + VitFlops(257, 1280, 32, 14);
        return new(llm, DecoderCount(llm), tower, v.NumPatches, VitFlops(v.NumPatches + 1, v.HiddenSize, v.NumLayers, v.PatchSize),
                   projector, olaParams, 24, teachers, teacherFlops, LoraCount(llm, loraR), ptText, iftText, systemTokens);
    }

    /// The plan of a loaded run: its LLM, tower, heads and teachers as built, the text lengths measured on up to
    /// 64 records of the PT data.
    public static FullScalePlan For(FullScaleParts parts, StageConfig pt, FullScaleConfig c, double? ptText = null)
    {
        var llava = parts.Model.Llava;
        long Count(TorchSharp.torch.nn.Module m) => m.parameters().Sum(p => p.numel());
        var tower = llava.Tower;
        double towerFlops = llava.Config.ConvNext is null
            ? VitFlops(tower.NumTokens + 1, tower.HiddenSize, llava.Config.Vision.NumLayers, llava.Config.Vision.PatchSize)
            : 2.0 * Count((TorchSharp.torch.nn.Module)tower) * tower.NumTokens;   // a convnet: roughly 2 FLOPs per weight per output position
        double teacherFlops = parts.Teachers.Values.Sum(t => t switch
        {
            DepthAnythingV2Teacher d => VitFlops(d.Grid * d.Grid + 1, d.Model.Config.Backbone.EmbedDim, d.Model.Config.IntermediateLayers.Max() + 1, d.Model.Config.Backbone.PatchSize),
            UnClipImageEncoderTeacher u => VitFlops((u.Model.Config.ImageSize / u.Model.Config.PatchSize) * (u.Model.Config.ImageSize / u.Model.Config.PatchSize) + 1,
                                                    u.Model.Config.HiddenSize, u.Model.Config.NumLayers, u.Model.Config.PatchSize),
            OneFormerSegTeacher s => 2.0 * SwinFlops.Macs(s.Backbone.Config, 800, 800),
            _ => 0,
        });
        int sys = parts.Template.Render(parts.Tokenizer, [new(Text.ChatRole.User, "<image>"), new(Text.ChatRole.Assistant, "")]).SystemLength;
        return new(llava.Config.Text, Count(llava.LanguageModel), Count((TorchSharp.torch.nn.Module)tower), tower.NumTokens, towerFlops,
                   Count(llava.MmProjector), parts.Model.Heads is { } h ? Count(h) : 0, parts.Model.Heads?.TaskTokens.BlockLength ?? 0,
                   parts.Teachers.Values.Sum(t => t switch { DepthAnythingV2Teacher d => Count(d.Model), UnClipImageEncoderTeacher u => Count(u.Model), OneFormerSegTeacher s => Count(s.Backbone), _ => 0L }),
                   teacherFlops, LoraCount(llava.Config.Text, c.LoraConfig.R), ptText ?? 40, 300, sys);
    }
}
