using OlaVlm.Teachers.OneFormer;

namespace OlaVlm.Tests.Teachers.OneFormer;

/// The FLOP count that the perf figures' GPU projection rests on, against the Swin paper's published numbers.
public class SwinFlopsTests
{
    [Fact]
    public void CountsMatchTheSwinPaper()
    {
        var tiny224 = new SwinConfig();   // HF's default: Swin-T, window 7
        Assert.InRange(SwinFlops.Macs(tiny224, 224, 224) / 1e9, 4.45, 4.55);                        // paper: 4.5 G
        Assert.InRange(SwinFlops.Macs(SwinConfig.OneFormerCocoSwinLarge, 384, 384) / 1e9, 103.4, 104.4); // paper: 103.9 G
        // OLA-VLM's input: 800² (200 → 204, 100 → 108, 50 → 60, 25 → 36 after window padding).
        Assert.InRange(SwinFlops.Macs(SwinConfig.OneFormerCocoSwinLarge, 800, 800) / 1e9, 500, 540);
    }
}
