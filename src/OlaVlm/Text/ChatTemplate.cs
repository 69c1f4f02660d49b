namespace OlaVlm.Text;

public enum ChatRole { User, Assistant }

public sealed record ChatTurn(ChatRole Role, string Content);

/// Token ids and labels of a rendered conversation. Labels equal ids on assistant answers (and their
/// stop token) and are −100 everywhere else, so training supervises only answers.
public sealed record RenderedChat(long[] Ids, long[] Labels, int SystemLength);

/// A conversation format (LLaVA's conv_templates): system prompt, role headers, separators and stop token.
/// Every turn renders as UserPrefix + content + UserSuffix, then AssistantPrefix + answer + Stop.
/// EncodeWhole: the conversation is tokenized as one string, as the reference does, instead of piece by piece —
/// needed where tokens depend on their neighbours (Phi-3's <|end|> and role tokens eat the newline after them).
public sealed record ChatTemplate(
    string Name,
    string System,
    string UserPrefix,
    string UserSuffix,
    string AssistantPrefix,
    string Stop,
    string Bos = "",
    bool EncodeWhole = false)
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

    /// OLA-VLM's conv_llava_phi_3 (MPT separator style): "<|system|>\n…<|end|>", then "\n<|user|>\n" + question +
    /// "<|end|>" and "\n<|assistant|>\n" + answer + "<|end|>". BOS first, as Phi-3-mini's add_bos_token tokenizer
    /// adds it; with SentencePieceTextTokenizer, 13 tokens precede the image (the reference's NUM_SYS_TOKENS).
    public static ChatTemplate Phi3() =>
        new("llava_phi_3", "<|system|>\nYou are a helpful AI assistant.<|end|>", "\n<|user|>\n", "<|end|>", "\n<|assistant|>\n",
            "<|end|>", "<s>", EncodeWhole: true);

    public long StopId(ITokenizer tok) => tok.SpecialId(Stop);

    /// Renders turns into ids + labels. With addGenerationPrompt the last turn must be a user turn and the
    /// output ends with the assistant header, ready for Generate. Pieces are encoded separately so label
    /// boundaries are exact.
    public RenderedChat Render(ITokenizer tok, IReadOnlyList<ChatTurn> turns, bool addGenerationPrompt = false)
    {
        CheckTurns(turns, addGenerationPrompt);
        if (EncodeWhole) return RenderWhole(tok, turns);
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
            if (turns[i].Role == ChatRole.User) { Add(UserPrefix + turns[i].Content + UserSuffix, false); Add(AssistantPrefix, false); }
            else { Add(turns[i].Content, true); ids.Add(StopId(tok)); labels.Add(ids[^1]); }
        }
        return new RenderedChat(ids.ToArray(), labels.ToArray(), systemLength);
    }

    /// The same segments and labels, tokenized as one string. Segment boundaries are found by encoding each prefix of
    /// the text; a tokenizer that merges tokens across a boundary would make labels ambiguous, so that throws.
    RenderedChat RenderWhole(ITokenizer tok, IReadOnlyList<ChatTurn> turns)
    {
        var segments = new List<(string Text, bool Supervised)> { (System, false) };
        foreach (var turn in turns)
            if (turn.Role == ChatRole.User) { segments.Add((UserPrefix + turn.Content + UserSuffix, false)); segments.Add((AssistantPrefix, false)); }
            else segments.Add((turn.Content + Stop, true));
        var bos = Bos.Length > 0 ? new[] { tok.SpecialId(Bos) } : [];
        var ids = bos.Concat(tok.Encode(string.Concat(segments.Select(s => s.Text)))).ToArray();
        var labels = new long[ids.Length];
        int start = bos.Length, systemLength = -1;
        var prefix = "";
        foreach (var (text, supervised) in segments)
        {
            prefix += text;
            var upTo = tok.Encode(prefix);
            int end = bos.Length + upTo.Length;
            if (end > ids.Length || !upTo.SequenceEqual(ids[bos.Length..end]))
                throw new InvalidOperationException($"ChatTemplate {Name}: tokens merge across the boundary after \"{text}\"; labels would be ambiguous");
            for (int i = start; i < end; i++) labels[i] = supervised ? ids[i] : Ignore;
            if (systemLength < 0) systemLength = end;
            start = end;
        }
        for (int i = 0; i < bos.Length; i++) labels[i] = Ignore;
        return new RenderedChat(ids, labels, systemLength);
    }

    void CheckTurns(IReadOnlyList<ChatTurn> turns, bool addGenerationPrompt)
    {
        for (int i = 0; i < turns.Count; i++)
            if (turns[i].Role != (i % 2 == 0 ? ChatRole.User : ChatRole.Assistant))
                throw new ArgumentException($"ChatTemplate {Name}: turn {i} is {turns[i].Role}, expected {(i % 2 == 0 ? ChatRole.User : ChatRole.Assistant)}");
        if (addGenerationPrompt && (turns.Count == 0 || turns[^1].Role != ChatRole.User))
            throw new ArgumentException($"ChatTemplate {Name}: a generation prompt must end with a user turn");
        if (!addGenerationPrompt && turns.Count > 0 && turns[^1].Role == ChatRole.User)
            throw new ArgumentException($"ChatTemplate {Name}: conversation ends with an unanswered user turn (use addGenerationPrompt)");
    }
}
