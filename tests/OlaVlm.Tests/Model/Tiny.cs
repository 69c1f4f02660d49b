using OlaVlm.Model;
using static TorchSharp.torch;

namespace OlaVlm.Tests.Model;

/// Tiny shapes shared by the model tests (hidden 32, 2 layers) so each test runs in well under a second.
static class Tiny
{
    public static readonly Device Cpu = CPU;

    public static LlamaConfig Llama(int kvHeads = 2, bool tied = true, int vocab = 40) =>
        new(vocab, HiddenSize: 32, IntermediateSize: 64, NumLayers: 2, NumHeads: 4, NumKvHeads: kvHeads,
            RmsNormEps: 1e-5, TieWordEmbeddings: tied);

    public static ClipVisionConfig Vision() => new(32, 64, 3, 4, ImageSize: 16, PatchSize: 4);

    public static LlavaConfig Llava(int vocab = 40) => new(Vision(), Llama(vocab: vocab), ImageTokenId: 4);

    public static LlamaForCausalLM Lm(int kvHeads = 2, bool tied = true, long seed = 0, int vocab = 40)
    {
        manual_seed(seed);
        var m = new LlamaForCausalLM(Llama(kvHeads, tied, vocab), Cpu);
        m.eval();
        return m;
    }

    public static Tensor Ids(long seed, params long[] shape)
    {
        var g = new Generator((ulong)seed);
        return randint(5, 40, shape, dtype: ScalarType.Int64, generator: g);
    }

    public static double MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();
}
