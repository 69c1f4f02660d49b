namespace OlaVlm.Foundation;

/// Perplexity = exp(mean negative log-likelihood per predicted token): the number of equally likely
/// words the model is, on average, choosing between. A uniform guess over V words scores V.
public static class Perplexity
{
    public static double FromNll(double totalNll, long tokens) =>
        tokens > 0 ? Math.Exp(totalNll / tokens) : throw new ArgumentException("Perplexity: no predicted tokens");
}
