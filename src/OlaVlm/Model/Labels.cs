namespace OlaVlm.Model;

/// Label conventions shared by the collator and the loss.
public static class Labels
{
    /// LLaVA's IGNORE_INDEX: positions the loss skips (system, image, task tokens, prompt, padding).
    public const long Ignore = -100;
}
