namespace OlaVlm.Model;

/// Name mapping between original LLaVA / HF checkpoints and this library's modules.
/// A mapper returns our name, or null for a key that is deliberately dropped (buffers HF used to save).
public static class HfNames
{
    /// Keys that old checkpoints saved but that we recompute (RoPE tables, CLIP position ids).
    public static bool IsDerivedBuffer(string name) =>
        name.EndsWith("rotary_emb.inv_freq") || name.EndsWith("embeddings.position_ids");

    /// Original LLaVA (LlavaLlamaForCausalLM) → LlavaModel:
    /// model.mm_projector.* → mm_projector.*; model.vision_tower.vision_tower.* → vision_tower.*;
    /// model.* → language_model.model.*; lm_head.* → language_model.lm_head.*.
    public static string? FromLlava(string name)
    {
        if (IsDerivedBuffer(name)) return null;
        if (name.StartsWith("model.mm_projector.")) return name["model.".Length..];
        if (name.StartsWith("model.vision_tower.vision_tower.")) return "vision_tower." + name["model.vision_tower.vision_tower.".Length..];
        if (name.StartsWith("model.") || name.StartsWith("lm_head.")) return "language_model." + name;
        return name;
    }

    /// LlavaModel → original LLaVA names (for writing checkpoints LLaVA's Python code can read).
    public static string ToLlava(string name)
    {
        if (name.StartsWith("mm_projector.")) return "model." + name;
        if (name.StartsWith("vision_tower.")) return "model.vision_tower.vision_tower." + name["vision_tower.".Length..];
        if (name.StartsWith("language_model.")) return name["language_model.".Length..];
        return name;
    }

    /// HF LlamaForCausalLM checkpoint → ours (identical names); a tied model drops the duplicate lm_head.
    public static Func<string, string?> FromHfLlama(LlamaConfig c) =>
        name => IsDerivedBuffer(name) || (c.TieWordEmbeddings && name == "lm_head.weight") ? null : name;

    /// HF CLIPModel / CLIPVisionModel checkpoint → ClipVisionModel: keep vision_model.*, drop the text tower.
    public static string? FromHfClipVision(string name) =>
        IsDerivedBuffer(name) || !name.StartsWith("vision_model.") ? null : name;

    /// HF CLIPVisionModelWithProjection checkpoint → ClipVisionModelWithProjection: identical names (vision_model.*,
    /// visual_projection.weight); only the position_ids buffer older files saved is dropped.
    public static string? FromHfClipVisionWithProjection(string name) => IsDerivedBuffer(name) ? null : name;
}
