using System.Security.Cryptography;
using System.Text;
using OlaVlm.Model;
using OlaVlm.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace OlaVlm.Stages;

/// What every arm starts from (Foundation.MiniFoundation via From, or real checkpoints): a pre-trained vision tower,
/// LLM and their tokenizer. Each arm gets its
/// own copy of the weights, so one FoundationParts feeds the baseline and OLA-VLM alike.
public sealed record FoundationParts(ClipVisionModel Vision, LlamaForCausalLM Llm, ITokenizer Tokenizer, ChatTemplate Template)
{
    public LlavaConfig LlavaConfig => new(Vision.Config, Llm.Config, Tokenizer.ImageId);

    /// The mini CLIP's vision tower and the mini LLM of the foundation notebook (02).
    public static FoundationParts From(Foundation.MiniFoundation m, Device? device = null) =>
        new(m.VisionTower(device), m.Llm, m.Tokenizer, m.Template);

    /// A new LLaVA with copies of the foundation weights and a projector initialised from `seed`
    /// (projectorHidden: its hidden width, null = the LLM width as LLaVA-1.5).
    public LlavaModel NewLlava(long seed, Device? device = null, int? projectorHidden = null)
    {
        device ??= Core.Devices.Default;
        using (manual_seed(seed)) { }
        var llava = new LlavaModel(LlavaConfig with { ProjectorHidden = projectorHidden }, device);
        using var _ = no_grad();
        Copy(Vision, llava.VisionTower);
        Copy(Llm, llava.LanguageModel);
        return llava;
    }

    static void Copy(nn.Module from, nn.Module to)
    {
        var src = from.state_dict();
        foreach (var (name, t) in to.state_dict())
        {
            if (!src.TryGetValue(name, out var s)) throw new ArgumentException($"FoundationParts: '{name}' missing from the foundation {from.GetName()}");
            t.copy_(s);
        }
    }

    /// SHA-256 of both models' weights (keys the experiment cache; reads every weight once).
    public string WeightsHash()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var m in new nn.Module[] { Vision, Llm })
            foreach (var (name, t) in m.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                sha.AppendData(Encoding.UTF8.GetBytes($"{name}:{string.Join(",", t.shape)}:{t.dtype};"));
                using var c = t.detach().cpu().contiguous();
                sha.AppendData(c.bytes);
            }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }
}
