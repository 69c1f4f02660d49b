namespace OlaVlm.World;

/// A small seeded random generator (SplitMix64).
///
/// Why our own: System.Random's algorithm is not specified across .NET versions, and the world must be
/// byte-identical from a seed forever. SplitMix64 is tiny, fast and passes BigCrush for this use.
public sealed class Rng(ulong seed)
{
    ulong _state = seed;

    public ulong NextULong()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// Uniform in [0, 1) with 53 random bits.
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// Uniform integer in [0, n) (Lemire's multiply-shift; the tiny bias at n << 2^64 is irrelevant here).
    public int Next(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "Rng.Next needs n > 0");
        return (int)(((UInt128)NextULong() * (ulong)n) >> 64);
    }

    public int Next(int lo, int hiExclusive) => lo + Next(hiExclusive - lo);

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// Fisher–Yates in place.
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// A seed derived from a parent seed and a path of integers (split id, index...). Distinct paths give
    /// unrelated streams, which is how splits get disjoint scenes without sharing one sequential stream.
    public static ulong Derive(ulong seed, params long[] path)
    {
        ulong h = Mix(seed ^ 0x5851F42D4C957F2DUL);
        foreach (var p in path) h = Mix(h ^ Mix((ulong)p + 0x9E3779B97F4A7C15UL));
        return h;
    }

    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
