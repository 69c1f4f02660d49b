namespace OlaVlm.Tests;

/// Tests that replay torch's global random generator (resume-equals-uninterrupted checks) must not run
/// beside other torch tests: xunit runs test classes in parallel, and a neighbour drawing from the same
/// global generator mid-run changes the replayed numbers. Classes in this collection run alone.
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial (global torch RNG)";
}
