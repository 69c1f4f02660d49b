using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// Miniature Depth-Anything-v2: a DINOv2-style ViT, and a dense head regressing log-depth.
///
/// Target (what OLA-VLM distils): the MEAN of the patch features of `TargetBlocks` — OLA-VLM averages
/// DAv2's DINOv2 blocks [4, 11, 17, 23] (576×1024). Each block output passes the final LayerNorm first,
/// as DINOv2's get_intermediate_layers(norm=True) does.
/// Decoder: the dense head is trained ON that mean (not on the four blocks separately, as DAv2's DPT
/// does), so Decode(target) = exp(head(target)) is the teacher's own depth prediction [B, H, W].
/// Loss: L1 on log-depth over valid pixels (finite, > 0): the world's depth is exact and metric.
public sealed class DepthTeacher : MiniTeacher
{
    readonly VitEncoder encoder;
    readonly TokenDecoder head;
    public DepthTeacherConfig Cfg { get; }

    public DepthTeacher(DepthTeacherConfig config, Device? device = null) : base(config, nameof(DepthTeacher))
    {
        Cfg = config;
        if (config.TargetBlocks.Length == 0 || config.TargetBlocks.Any(b => b < 0 || b >= config.Depth))
            throw new ArgumentException($"DepthTeacherConfig.TargetBlocks [{string.Join(", ", config.TargetBlocks)}] must be 0-based indices below Depth {config.Depth}");
        encoder = new VitEncoder(config.ImageSize, config.PatchSize, config.Dim, config.Depth, config.Heads, config.MlpRatio);
        head = new TokenDecoder(config.Dim, encoder.GridSize, config.ImageSize, config.HeadChannels, 1);
        head.SetOutputBias(MathF.Log(config.InitialDepth));
        Init(device);
    }

    public override long[] TargetShape => [encoder.NumTokens, Cfg.Dim];

    /// Every block's (normalised) patch features [B, N, D]; exposed so the target can be checked by hand.
    public List<Tensor> BlockFeatures(Tensor images) => encoder.BlockOutputs(images.to(Device));

    public override Tensor Target(Tensor images)
    {
        var blocks = encoder.BlockOutputs(images);
        return stack(Cfg.TargetBlocks.Select(i => blocks[i]).ToArray(), 0).mean([0]);
    }

    /// log-depth [B, H, W].
    public override Tensor Head(Tensor target) => head.forward(target).squeeze(1);

    protected override Tensor Picture(Tensor logDepth) => logDepth.exp();

    public override Tensor Loss(TeacherBatch batch)
    {
        var depth = batch.NeedDepth(Name);
        var valid = TeacherMetrics.ValidDepth(depth);
        var logPred = Head(Target(batch.Images));
        var logGt = depth.clamp_min(1e-6).log();
        return (logPred - logGt).abs().masked_select(valid).mean();
    }

    protected override TeacherScore Score(Tensor pictures, TeacherData val)
    {
        var gt = val.Depth ?? throw new ArgumentException($"{Name}: val data has no depth labels");
        return new DepthScore(TeacherMetrics.AbsRel(pictures, gt), TeacherMetrics.Delta1(pictures, gt));
    }
}
