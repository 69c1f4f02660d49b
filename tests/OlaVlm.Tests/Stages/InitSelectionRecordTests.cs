using OlaVlm.Stages;

namespace OlaVlm.Tests.Stages;

/// What InitSelection reads back from a PT folder: the starts it tried, which went on, and — for an interrupted PT
/// (the record and the winner's checkpoint on disk) — the winner's initialisation seed to rebuild it from.
public class InitSelectionRecordTests
{
    [Fact]
    public void TheRecordSaysWhichStartWentOnAndAnInterruptedRunResumesIt()
    {
        var dir = Path.Combine(Path.GetTempPath(), "ola-init-record-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            Assert.Null(InitSelection.Outcome(dir));
            Assert.Null(InitSelection.ChosenSeed(dir));
            File.WriteAllText(Path.Combine(dir, "init-selection.json"),
                """{"winner":2,"candidates":[{"Index":0,"InitSeed":8,"Loss":1.21},{"Index":1,"InitSeed":1008,"Loss":1.27},{"Index":2,"InitSeed":2008,"Loss":0.92}]}""");
            Assert.Equal((3, 2), InitSelection.Outcome(dir));
            Assert.Equal(new long[] { 8, 1008, 2008 }, InitSelection.Read(dir)!.Select(c => c.InitSeed).ToArray());
            Assert.Null(InitSelection.ChosenSeed(dir));                       // no checkpoint yet: nothing to resume
            Directory.CreateDirectory(Path.Combine(OlaVlm.Training.RunCheckpoint.Root(dir), OlaVlm.Training.RunCheckpoint.Name(270)));
            Assert.Equal(2008, InitSelection.ChosenSeed(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
