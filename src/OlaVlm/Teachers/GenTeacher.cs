using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace OlaVlm.Teachers;

/// Miniature stand-in for SD-2.1-unCLIP's image embedding: an autoencoder with a ONE-vector bottleneck.
///
/// Target: the global embedding [B, 1, EmbedDim] (unCLIP: CLIP ViT-H image_embeds, 1×1024).
/// Decoder: renders the (normalised) image [B, 3, H, W] from that vector alone, as unCLIP's diffusion
/// decoder renders an image from its image embedding. Loss: MSE in normalised pixel space.
public sealed class GenTeacher : MiniTeacher
{
    readonly ConvPyramid backbone;
    readonly Linear image_embeds, unembed;
    readonly TokenDecoder head;
    readonly int grid;
    public GenTeacherConfig Cfg { get; }

    public GenTeacher(GenTeacherConfig config, Device? device = null) : base(config, nameof(GenTeacher))
    {
        Cfg = config;
        backbone = new ConvPyramid(config.StageChannels);
        if (config.ImageSize % backbone.Downsample != 0)
            throw new ArgumentException($"GenTeacher: image size {config.ImageSize} is not divisible by the backbone's downsampling {backbone.Downsample}");
        grid = config.ImageSize / backbone.Downsample;
        image_embeds = Linear(config.StageChannels[^1] * grid * grid, config.EmbedDim);
        unembed = Linear(config.EmbedDim, grid * grid * config.HeadChannels);
        head = new TokenDecoder(config.HeadChannels, grid, config.ImageSize, config.HeadChannels, 3);
        Init(device);
    }

    public override long[] TargetShape => [1, Cfg.EmbedDim];

    public override Tensor Target(Tensor images) => image_embeds.forward(backbone.forward(images).flatten(1)).unsqueeze(1);

    public override Tensor Head(Tensor target)
    {
        long b = target.shape[0];
        return head.forward(unembed.forward(target.squeeze(1)).view(b, grid * grid, Cfg.HeadChannels));
    }

    public override Tensor Loss(TeacherBatch batch) =>
        functional.mse_loss(Head(Target(batch.Images)), batch.Images);

    /// PSNR with the val images' own dynamic range (max − min) as peak: images are normalised, not 0..1.
    protected override TeacherScore Score(Tensor pictures, TeacherData val)
    {
        double range = (val.Images.max() - val.Images.min()).item<float>();
        return new GenScore(TeacherMetrics.Psnr(pictures, val.Images, range), range);
    }
}
