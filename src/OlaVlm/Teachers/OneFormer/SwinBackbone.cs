using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace OlaVlm.Teachers.OneFormer;

/// HF SwinBackbone, OneFormer's image encoder (`model.pixel_level_module.encoder` in a OneFormer checkpoint):
/// patch embedding, the Swin stages, and a LayerNorm per reported stage (`hidden_states_norms.stageN`, default eps
/// 1e-5) applied to that stage's output before its patch merging. Parameter names are HF's, so the backbone part
/// of a OneFormer state dict loads by stripping the prefix (OneFormerCheckpoint).
///
/// Shapes for OneFormer COCO Swin-L at OLA-VLM's 800×800 input: stem 192×200×200, stage1 192×200×200,
/// stage2 384×100×100, stage3 768×50×50, stage4 1536×25×25.
public sealed class SwinBackbone : nn.Module
{
    private readonly SwinEmbeddings embeddings;
    private readonly SwinEncoder encoder;
    private readonly ModuleDict<LayerNorm> hidden_states_norms;
    public SwinConfig Config { get; }
    public SwinEncoder Encoder => encoder;

    /// `initialize`: HF's init (Linear / Conv2d weights N(0, 0.02), biases 0, LayerNorms 1 / 0, bias tables 0), so
    /// every value is defined; pass false when the weights are loaded next or on the meta device.
    public SwinBackbone(SwinConfig config, Device? device = null, bool initialize = true) : base(nameof(SwinBackbone))
    {
        Config = config.Validate();
        embeddings = new SwinEmbeddings(config, device);
        encoder = new SwinEncoder(config, device);
        hidden_states_norms = new ModuleDict<LayerNorm>();
        foreach (var stage in config.Outputs)
            hidden_states_norms.Add((stage, nn.LayerNorm(config.Channels(stage), eps: 1e-5, device: device)));
        RegisterComponents();
        if (initialize) Initialize();
    }

    /// HF SwinPreTrainedModel._init_weights.
    public void Initialize(double std = 0.02)
    {
        using var _ = no_grad();
        foreach (var (_, m) in named_modules())
        {
            var own = m.named_parameters(recurse: false).ToDictionary(p => p.name, p => p.parameter);
            if (m is Linear or Conv2d)
            {
                own["weight"].normal_(0, std);
                if (own.TryGetValue("bias", out var b)) b.zero_();
            }
            else if (m is LayerNorm) { own["weight"].fill_(1); own["bias"].zero_(); }
            else if (own.TryGetValue("relative_position_bias_table", out var table)) table.zero_();
        }
    }

    /// pixels [B, C, H, W] → the feature maps of Config.Outputs, each [B, channels, h, w], in stage order.
    /// lastOnly: compute the norms of the last output alone (OLA-VLM's seg target reads only that one).
    public IReadOnlyList<Tensor> forward(Tensor pixels, bool lastOnly = false)
    {
        using var scope = NewDisposeScope();
        var outputs = Config.Outputs;
        var maps = new List<Tensor>();
        void Report(string stage, Tensor tokens, long h, long w)
        {
            if (!outputs.Contains(stage) || (lastOnly && stage != outputs[^1])) return;
            var normed = hidden_states_norms[stage].forward(tokens);
            maps.Add(normed.view(tokens.shape[0], h, w, tokens.shape[2]).permute(0, 3, 1, 2).contiguous());
        }
        var (x, height, width) = embeddings.forward(pixels);
        Report("stem", x, height, width);
        for (int i = 0; i < Config.NumStages; i++)
        {
            var (output, merged) = encoder.Stages[i].forward(x, height, width);
            Report($"stage{i + 1}", output, height, width);
            x.Dispose(); output.Dispose();           // only the reported maps stay alive: memory at full size
            if (merged is null) break;
            (x, height, width) = (merged, (height + 1) / 2, (width + 1) / 2);
        }
        foreach (var m in maps) m.MoveToOuterDisposeScope();
        return maps;
    }

    /// Spatial size of each stage's output for an input of height × width (patch padding, then ⌈/2⌉ per merging).
    public static (long Height, long Width)[] StageSizes(SwinConfig c, long height, long width)
    {
        long h = (height + c.PatchSize - 1) / c.PatchSize, w = (width + c.PatchSize - 1) / c.PatchSize;
        var sizes = new (long, long)[c.NumStages];
        for (int i = 0; i < c.NumStages; i++) { sizes[i] = (h, w); (h, w) = ((h + 1) / 2, (w + 1) / 2); }
        return sizes;
    }
}
