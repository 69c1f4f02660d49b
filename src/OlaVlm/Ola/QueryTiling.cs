using OlaVlm.Core;
using static TorchSharp.torch;

namespace OlaVlm.Ola;

/// How a predictor turns the latents it is given into exactly its number of queries Q — the rule of the
/// reference TaskTokenResampler, kept in this one place:
///
///   n == Q                 → as given;
///   Q > 1 and Q % n == 0   → tiled along the query axis, Q/n copies one after another ([a b a b], torch
///                            `repeat`, NOT `repeat_interleave` [a a b b]);
///   otherwise              → the mean of the n latents, repeated Q times (Q = 1 included).
///
/// Where it matters: gen has Q = 1 and is given the N ⟨gen⟩ hidden states, so it reads their mean; depth
/// and seg are given their full query parameter (n = Q) and are untouched. More latents than queries also
/// fall to the mean unless Q happens to be a multiple of n (as the reference).
public static class QueryTiling
{
    /// latents [n, D] or [B, n, D] → the same rank with Q rows on the query axis (dim -2).
    public static Tensor Fit(Tensor latents, int numQueries)
    {
        if (numQueries < 1) throw new ArgumentOutOfRangeException(nameof(numQueries), numQueries, "a predictor needs at least one query");
        if (latents.dim() is not (2 or 3) || latents.shape[^2] == 0)
            throw new ShapeMismatchException($"QueryTiling: latents must be [n, D] or [B, n, D] with n ≥ 1, got {Checked.Fmt(latents.shape)}");
        long n = latents.shape[^2];
        if (n == numQueries) return latents;
        var reps = latents.dim() == 2 ? new long[] { 0, 1 } : new long[] { 1, 0, 1 };
        int axis = (int)latents.dim() - 2;
        if (numQueries > 1 && numQueries % n == 0)
        {
            reps[axis] = numQueries / n;
            return latents.repeat(reps);
        }
        reps[axis] = numQueries;
        return latents.mean([axis], keepdim: true).repeat(reps);
    }
}
