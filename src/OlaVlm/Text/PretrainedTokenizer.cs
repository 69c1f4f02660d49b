using System.Text.Json.Nodes;

namespace OlaVlm.Text;

/// The tokenizer and chat template that belong to a downloaded Hugging Face LLM folder, as OLA-VLM pairs them
/// (`--version llava_phi_3` / `llava_llama_3`):
///   model_type phi3 (also llava_phi3, ola_phi3): tokenizer.model + tokenizer_config.json (SentencePiece, Phi-3's
///     added tokens), ChatTemplate.Phi3;
///   model_type llama (also llava_llama, ola_llama): Meta's tiktoken file `original/tokenizer.model` (or a
///     `tokenizer.model` in tiktoken's text format), ChatTemplate.Llama3.
/// Anything else is refused naming config.json and its model_type.
public static class PretrainedTokenizer
{
    public static (ITokenizer Tokenizer, ChatTemplate Template) Load(string dir)
    {
        var config = Path.Combine(dir, "config.json");
        if (!File.Exists(config)) throw new FileNotFoundException($"PretrainedTokenizer: no config.json in '{dir}'", config);
        var type = Core.JsonFile.Parse(config)["model_type"]?.GetValue<string>();
        return type switch
        {
            "phi3" or "llava_phi3" or "ola_phi3" => (SentencePieceTextTokenizer.Load(dir), ChatTemplate.Phi3()),
            "llama" or "llava_llama" or "ola_llama" => (TiktokenTextTokenizer.LoadLlama3(TiktokenFile(dir)), ChatTemplate.Llama3()),
            _ => throw new NotSupportedException($"{config}: model_type '{type ?? "(missing)"}' has no tokenizer here (phi3, llama)"),
        };
    }

    /// Llama-3's tiktoken vocabulary: `original/tokenizer.model` as Meta's repositories ship it, else a
    /// `tokenizer.model` whose first line is tiktoken's "base64 rank".
    static string TiktokenFile(string dir)
    {
        var original = Path.Combine(dir, "original", "tokenizer.model");
        if (File.Exists(original)) return original;
        var local = Path.Combine(dir, "tokenizer.model");
        if (File.Exists(local) && File.ReadLines(local).FirstOrDefault()?.Split(' ') is [var b64, var rank]
            && int.TryParse(rank, out _) && b64.Length > 0) return local;
        throw new FileNotFoundException($"PretrainedTokenizer: '{dir}' holds no Llama-3 tiktoken file (original/tokenizer.model)", original);
    }
}
