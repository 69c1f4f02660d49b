namespace OlaVlm.Core;

/// How much work a notebook should do. The headless runner and CI set OLA_PROFILE=quick so every
/// notebook finishes in seconds; a person running a notebook by hand gets the full miniature world.
/// Notebooks size their loops with `Profile.Pick(quick: 20, full: 2000)` instead of editing numbers.
public static class Profile
{
    public const string EnvVar = "OLA_PROFILE";
    public const string Quick = "quick";
    public const string Full = "full";

    /// "quick" or "full" (the default when OLA_PROFILE is unset or empty).
    public static string Current => Parse(Environment.GetEnvironmentVariable(EnvVar));

    public static bool IsQuick => Current == Quick;

    /// The value for the current profile.
    public static T Pick<T>(T quick, T full) => IsQuick ? quick : full;

    /// Validates a profile name. A typo ("quik") must not silently run the full, slow profile.
    public static string Parse(string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw)) return Full;
        var v = raw.Trim().ToLowerInvariant();
        return v is Quick or Full
            ? v
            : throw new ArgumentException($"{EnvVar}='{raw}' is not a profile: expected '{Quick}' or '{Full}'.");
    }
}
