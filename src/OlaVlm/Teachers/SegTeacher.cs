using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// Miniature OneFormer backbone: a conv pyramid (each stage halves the resolution, as Swin's stages do)
/// and a segmentation head.
///
/// Target: the LAST stage's feature map [B, C, g, g] flattened to tokens [B, g·g, C] — OLA-VLM takes
/// OneFormer Swin-L's last stage 1536×24×24 as 576×1536.
/// Decoder: the segmentation head, trained on exactly those tokens: Decode(target) = class logits
/// [B, K, H, W] (argmax over dim 1 gives the class map).
public sealed class SegTeacher : MiniTeacher
{
    readonly ConvPyramid backbone;
    readonly TokenDecoder head;
    readonly int grid;
    public SegTeacherConfig Cfg { get; }

    public SegTeacher(SegTeacherConfig config, Device? device = null) : base(config, nameof(SegTeacher))
    {
        Cfg = config;
        if (config.NumClasses < 2) throw new ArgumentException($"SegTeacherConfig.NumClasses {config.NumClasses} < 2");
        backbone = new ConvPyramid(config.StageChannels);
        if (config.ImageSize % backbone.Downsample != 0)
            throw new ArgumentException($"SegTeacher: image size {config.ImageSize} is not divisible by the backbone's downsampling {backbone.Downsample}");
        grid = config.ImageSize / backbone.Downsample;
        head = new TokenDecoder(config.StageChannels[^1], grid, config.ImageSize, config.HeadChannels, config.NumClasses);
        Init(device);
    }

    public override long[] TargetShape => [grid * grid, Cfg.StageChannels[^1]];

    public override Tensor Target(Tensor images) => backbone.forward(images).flatten(2).transpose(1, 2);

    public override Tensor Head(Tensor target) => head.forward(target);

    public override Tensor Loss(TeacherBatch batch)
    {
        var seg = batch.NeedSeg(Name);
        return nn.functional.cross_entropy(Head(Target(batch.Images)), seg, ignore_index: TeacherMetrics.IgnoreIndex);
    }

    protected override TeacherScore Score(Tensor pictures, TeacherData val)
    {
        var gt = val.Seg ?? throw new ArgumentException($"{Name}: val data has no segmentation labels");
        using var pred = pictures.argmax(1);
        var (miou, perClass) = TeacherMetrics.MeanIoU(pred, gt, Cfg.NumClasses);
        return new SegScore(miou, perClass);
    }
}
