using OlaVlm.World;
using Xunit.Abstractions;

namespace OlaVlm.Tests.Perf;

public class WorldPerfTests(ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Perf")]
    public void ScenesPerSecond()
    {
        double r64 = WorldPerf.ScenesPerSecond(2000);
        double r224 = WorldPerf.ScenesPerSecond(200, new WorldConfig { ImageSize = 224 });
        output.WriteLine($"world generation: {r64:F0} scenes/s at 64x64, {r224:F0} scenes/s at 224x224 (files included)");
        Assert.True(r64 > 0 && r224 > 0);
    }
}
