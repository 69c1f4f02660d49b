using OlaVlm.Foundation;
using OlaVlm.Ola;
using OlaVlm.Diagnostics;
using OlaVlm.Stages;
using OlaVlm.Tests.Stages;

namespace OlaVlm.Tests.Perf;

/// The PyTorch twin (environment/bench/peer_model.py) computes the same training step as the library, so the
/// peer benchmark compares equal work. Not a benchmark: it runs in the normal suite (skipped where Debian's
/// python3-torch is missing) and fails as soon as the C# model and its twin drift apart.
[Collection(SerialTorchCollection.Name)]
public class PeerStepTests
{
    static readonly OlaConfig Variant = OlaConfig.Miniature with
    {
        NumTaskTokens = 4, UseContrastive = false, PassSystemToPredictor = false, LossReduction = EmbeddingLossReduction.ImageSamplesOnly,
    };

    public static TheoryData<string> Arms => new() { "baseline", "ola", "ola-variant" };

    [SkippableTheory, MemberData(nameof(Arms))]
    public void First_step_agrees_with_the_python_twin_and_the_check_tells_a_different_step(string arm)
    {
        var why = PythonPeer.Unavailable();
        Skip.If(why is not null, $"PyTorch peer unavailable: {why}");
        var exp = ExperimentConfig.Quick with { Pretrain = StageConfig.QuickPretrain with { BatchSize = 4 } };
        if (arm == "ola-variant") exp = exp with { Ola = Variant };
        using var w = PtStepWorkload.Create(ola: arm != "baseline", exp, FoundationConfig.Quick);
        var dir = Path.Combine(Core.Paths.Out, "test-peer", $"{arm}-{Guid.NewGuid():N}");
        w.Export(dir);
        var first = w.Step();
        var second = w.Step();
        using var peer = PythonPeer.Start(dir, threads: 1);
        Assert.True(Math.Abs(first.Loss - peer.Ready.Loss) <= 1e-4, $"{arm}: C# loss {first.Loss:G9}, PyTorch {peer.Ready.Loss:G9}");
        Assert.True(Math.Abs(first.GradNorm - peer.Ready.GradNorm) <= 1e-3 * first.GradNorm, $"{arm}: C# grad norm {first.GradNorm:G9}, PyTorch {peer.Ready.GradNorm:G9}");
        // The check has teeth: one AdamW step later the loss differs by far more than the tolerance.
        Assert.True(Math.Abs(second.Loss - peer.Ready.Loss) > 1e-4, $"{arm}: step 2 ({second.Loss:G9}) is indistinguishable from step 1");
        // And the peer keeps stepping like C# does: its second step (timed round of 1) matches C#'s second.
        var round = peer.Run(1);
        Assert.True(Math.Abs(second.Loss - round.Loss) <= 1e-3, $"{arm}: step 2 C# {second.Loss:G9}, PyTorch {round.Loss:G9}");
    }
}
