namespace OlaVlm.Text;

/// What the model code needs from a tokenizer. Special-token ids are properties so prompts, collators
/// and generation never hard-code them.
public interface ITokenizer
{
    int VocabSize { get; }
    long BosId { get; }
    long EosId { get; }
    long PadId { get; }
    /// Id of the `<image>` placeholder that the multimodal collator expands into image features.
    long ImageId { get; }

    /// Text → ids. Special-token spellings in the text (e.g. "<image>") become their ids. No BOS/EOS added.
    long[] Encode(string text);

    /// Ids → text. skipSpecial drops pad/bos/eos/image tokens.
    string Decode(IEnumerable<long> ids, bool skipSpecial = true);

    /// The id of one special token spelled as text (e.g. "<eos>", "<|eot_id|>"); throws if unknown.
    long SpecialId(string token);
}
