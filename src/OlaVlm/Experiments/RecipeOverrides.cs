using OlaVlm.Stages;

namespace OlaVlm.Experiments;

/// Changes to the measurement recipe for a research run (OlaCheck align, a notebook cell), each null = keep the
/// recipe's value. Apply gives the changed ExperimentConfig; its cache keys follow, so nothing stale is reused.
public sealed record RecipeOverrides
{
    public int? PtSteps { get; init; }
    public int? IftSteps { get; init; }
    /// IFT's one-hop curriculum steps (capped at IftSteps); null with IftSteps set = a third of them.
    public int? OneHopSteps { get; init; }
    public int? FewObjectsSteps { get; init; }
    /// The few-object scenes' object limit; applies on its own too (with FewObjectsSteps alone: the recipe's, else 2).
    public int? FewObjectsMax { get; init; }
    public int? PtBatch { get; init; }
    /// PT's learning rate for the projector and OLA-VLM's parts alike (the reference trains both at one rate).
    public double? PtLr { get; init; }
    public double? IftLr { get; init; }
    /// PT's warm-up, as a share of its steps (StageConfig.WarmupRatio).
    public double? PtWarmupRatio { get; init; }
    public long? InitSeedOffset { get; init; }
    public int? InitCandidates { get; init; }
    /// Steps each initialisation candidate trains before the choice; applies on its own too (with InitCandidates
    /// alone: the recipe's, else 100).
    public int? InitProbeSteps { get; init; }
    /// The restart rule's bar (StageConfig.InitAcceptBelow); 0 = best of all candidates.
    public double? InitAcceptBelow { get; init; }
    /// The projector's hidden width; 0 = LLaVA's rule (the LLM's width).
    public int? ProjectorHidden { get; init; }
    /// IFT with LoRA adapters of this rank on the LLM (LoraConfig.Miniature's α/r = 2 and rate) instead of all its weights.
    public int? LoraRank { get; init; }

    public ExperimentConfig Apply(ExperimentConfig cfg)
    {
        var pt = cfg.Pretrain;
        var ft = cfg.Finetune;
        if (PtSteps is int p) pt = pt with { Steps = p };
        if (IftSteps is int i) ft = ft with { Steps = i, OneHopSteps = Math.Min(OneHopSteps ?? i / 3, i) };
        else if (OneHopSteps is int h) ft = ft with { OneHopSteps = Math.Min(h, ft.Steps) };
        // A limit or probe length given alone is applied, not dropped (`screen fewmax=1` once changed nothing).
        if (FewObjectsSteps is int few) pt = pt with { FewObjectsSteps = few, FewObjectsMax = FewObjectsMax ?? (pt.FewObjectsMax > 0 ? pt.FewObjectsMax : 2) };
        else if (FewObjectsMax is int m) pt = pt with { FewObjectsMax = m };
        if (InitCandidates is int c) pt = pt with { InitCandidates = c, InitProbeSteps = InitProbeSteps ?? (pt.InitProbeSteps > 0 ? pt.InitProbeSteps : 100) };
        else if (InitProbeSteps is int ps) pt = pt with { InitProbeSteps = ps };
        if (InitAcceptBelow is double ab) pt = pt with { InitAcceptBelow = ab };
        if (InitSeedOffset is long o) pt = pt with { InitSeedOffset = o };
        if (PtBatch is int b) pt = pt with { BatchSize = b };
        if (PtLr is double pl) pt = pt with { ProjectorLr = pl, OlaLr = pl };
        if (PtWarmupRatio is double wr) pt = pt with { WarmupRatio = wr };
        if (IftLr is double il) ft = ft with { ProjectorLr = il, LlmLr = il };
        if (LoraRank is int r) ft = ft with { Lora = Training.LoraConfig.Miniature with { R = r, Alpha = 2.0 * r } };
        // The recipe's restart rule probes at its PT's step 270 (the few-object phase's end, with a bar measured there);
        // a PT too short for it runs without the rule unless cand=/probe=/accept= ask for it (SeedStudy.Describe shows which).
        if (pt.InitCandidates > 1 && pt.InitProbeSteps >= pt.Steps && InitCandidates is null && InitProbeSteps is null && InitAcceptBelow is null)
            pt = pt with { InitCandidates = 0, InitProbeSteps = 0, InitAcceptBelow = 0 };
        var result = cfg with { Pretrain = pt, Finetune = ft };
        return ProjectorHidden is int w ? result with { ProjectorHidden = w == 0 ? null : w } : result;
    }
}
