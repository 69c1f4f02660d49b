namespace OlaVlm.Text;

public enum ChatRole { User, Assistant }

public sealed record ChatTurn(ChatRole Role, string Content);

/// Token ids and labels of a rendered conversation. Labels equal ids on assistant answers (and their
/// stop token) and are −100 everywhere else, so training supervises only answers.
public sealed record RenderedChat(long[] Ids, long[] Labels, int SystemLength);

/// A conversation format (LLaVA's conv_templates): system prompt, role headers, separators and stop token.
/// Every turn renders as UserPrefix + content + UserSuffix, then AssistantPrefix + answer + Stop.
public sealed record ChatTemplate(
    string Name,
    string System,
    string UserPrefix,
    string UserSuffix,
    string AssistantPrefix,
    string Stop,
    string Bos = "")
{
    public const long Ignore = -100;

    /// Miniature world format for WordTokenizer: "a chat about pictures . user : … assistant : … <eos>".
    public static ChatTemplate Miniature() =>
        new("mini", "a chat about pictures.", "user: ", " ", "assistant: ", "<eos>", "<bos>");

    /// LLaVA v1 (Vicuna) style.
    public static ChatTemplate LlavaV1() =>
        new("llava_v1", "A chat between a curious human and an artificial intelligence assistant. " +
            "The assistant gives helpful, detailed, and polite answers to the human's questions. ",
            "USER: ", " ", "ASSISTANT: ", "</s>", "<s>");

    /// Llama-3 instruct headers, as LLaVA-Llama-3 / OLA-VLM's llava_llama_3 template.
    public static ChatTemplate Llama3() =>
        new("llava_llama_3", "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful language and vision assistant. " +
            "You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.<|eot_id|>",
            "<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>",
            "<|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|>", "<|begin_of_text|>");

    public long StopId(ITokenizer tok) => tok.SpecialId(Stop);

    /// Renders turns into ids + labels. With addGenerationPrompt the last turn must be a user turn and the
    /// output ends with the assistant header, ready for Generate. Pieces are encoded separately so label
    /// boundaries are exact.
    public RenderedChat Render(ITokenizer tok, IReadOnlyList<ChatTurn> turns, bool addGenerationPrompt = false)
    {
        var ids = new List<long>(); var labels = new List<long>();
        void Add(string text, bool supervised)
        {
            var t = tok.Encode(text);
            ids.AddRange(t);
            labels.AddRange(supervised ? t : Enumerable.Repeat(Ignore, t.Length));
        }
        if (Bos.Length > 0) { ids.Add(tok.SpecialId(Bos)); labels.Add(Ignore); }
        Add(System, false);
        int systemLength = ids.Count;
        for (int i = 0; i < turns.Count; i++)
        {
            var expected = i % 2 == 0 ? ChatRole.User : ChatRole.Assistant;
            if (turns[i].Role != expected) throw new ArgumentException($"ChatTemplate {Name}: turn {i} is {turns[i].Role}, expected {expected}");
            if (turns[i].Role == ChatRole.User) { Add(UserPrefix + turns[i].Content + UserSuffix, false); Add(AssistantPrefix, false); }
            else { Add(turns[i].Content, true); ids.Add(StopId(tok)); labels.Add(ids[^1]); }
        }
        if (addGenerationPrompt && (turns.Count == 0 || turns[^1].Role != ChatRole.User))
            throw new ArgumentException($"ChatTemplate {Name}: a generation prompt must end with a user turn");
        if (!addGenerationPrompt && turns.Count > 0 && turns[^1].Role == ChatRole.User)
            throw new ArgumentException($"ChatTemplate {Name}: conversation ends with an unanswered user turn (use addGenerationPrompt)");
        return new RenderedChat(ids.ToArray(), labels.ToArray(), systemLength);
    }
}
