using System.Text.Json;
using OlaVlm.Ola;
using OlaVlm.Training;

namespace OlaVlm.Stages;

/// Best of k initialisations by PT loss. Why: with the LLM frozen, whether PT leaves its plateau depends
/// on where the projector starts. At seed 3 the main job's recipe stayed on the plateau in both arms (final PT loss
/// 1.40, LLaVA-1.5 0.466), while the same data order from another initialisation (StageConfig.InitSeedOffset)
/// reached 1.21 and 0.600. The plateau shows in the PT loss long before the benchmark: so each candidate trains the
/// stage's first steps — the same batches, the same learning-rate schedule — and the one with the lowest next-token
/// loss goes on from where it stopped, so no step is trained twice. Both arms use the same rule.
/// With StageConfig.InitAcceptBelow the candidates are tried in order and the first at or below it goes on: a restart
/// rule, not a search — a start below the bar trains exactly the steps (and numbers) it would without the rule.
public static class InitSelection
{
    public sealed record Candidate(int Index, long InitSeed, double Loss);

    /// Trains up to sc.InitCandidates fresh models (`newModel(init + 1000·i)`, candidate 0 the seed's own) for
    /// sc.InitProbeSteps steps each in runDir-init<i> (stopping at the first at or below sc.InitAcceptBelow when it is
    /// set), moves the winner's folder to runDir (its checkpoint there, so
    /// Stage.Run goes on from it) and writes the candidates' scores to runDir/init-selection.json.
    public static (OlaVlmModel Model, IReadOnlyList<Candidate> Candidates) Pick(Func<long, OlaVlmModel> newModel, long init, StageConfig sc,
        IStageData data, IReadOnlyDictionary<OlaTask, Teachers.ITargetSource>? targets, string runDir,
        IProgressReporter? progress = null, string title = "", Action<string>? log = null)
    {
        if (sc.InitCandidates < 2) throw new ArgumentException($"InitSelection: {sc.InitCandidates} candidate(s); it needs at least 2");
        if (sc.InitProbeSteps <= 0 || sc.InitProbeSteps >= sc.Steps)
            throw new ArgumentException($"InitSelection: InitProbeSteps {sc.InitProbeSteps} must be within 1..{sc.Steps - 1} (the stage's steps)");
        if (double.IsNaN(sc.InitAcceptBelow) || sc.InitAcceptBelow < 0)
            throw new ArgumentException($"InitSelection: InitAcceptBelow {sc.InitAcceptBelow} must be a loss ≥ 0 (0 = best of all candidates)");
        var candidates = new List<Candidate>();
        OlaVlmModel? best = null;
        int bestIndex = -1;
        for (int i = 0; i < sc.InitCandidates; i++)
        {
            long seed = init + 1000L * i;
            string dir = $"{runDir}-init{i}";
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);   // a half-finished earlier try
            var model = newModel(seed);
            var r = Stage.Run(model, sc, data, targets, dir, stopAfter: sc.InitProbeSteps, progress: progress, title: $"{title} (init {i})");
            double loss = Score(r.Metrics, sc.InitProbeSteps, dir);
            candidates.Add(new Candidate(i, seed, loss));
            log?.Invoke($"{title}: initialisation {i} (seed {seed}): next-token loss {loss:F4} over steps {sc.InitProbeSteps - sc.InitProbeSteps / 4 + 1}..{sc.InitProbeSteps}");
            if (best is null || loss < candidates[bestIndex].Loss)
            {
                best?.Dispose();
                best = model; bestIndex = i;
            }
            else model.Dispose();
            if (sc.InitAcceptBelow > 0 && loss <= sc.InitAcceptBelow) break;   // good enough: the rest are not tried
        }
        if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
        Directory.Move($"{runDir}-init{bestIndex}", runDir);
        for (int i = 0; i < candidates.Count; i++)
            if (i != bestIndex) Directory.Delete($"{runDir}-init{i}", recursive: true);
        AtomicFile.WriteText(Path.Combine(runDir, "init-selection.json"), JsonSerializer.Serialize(new { winner = bestIndex, candidates }));
        log?.Invoke($"{title}: initialisation {bestIndex} goes on");
        return (best!, candidates);
    }

    /// Mean next-token loss ("ntp") of the logged rows in the last quarter of the first `steps` steps.
    public static double Score(IReadOnlyList<IReadOnlyDictionary<string, double>> metrics, int steps, string source)
    {
        int from = steps - Math.Max(1, steps / 4);
        var rows = metrics.Where(m => m.TryGetValue("step", out var s) && s > from && s <= steps && m.ContainsKey("ntp")).ToList();
        if (rows.Count == 0) throw new InvalidDataException($"InitSelection: {source} logged no next-token loss (ntp) in steps {from + 1}..{steps}");
        return rows.Average(m => m["ntp"]);
    }

    /// The winner's initialisation seed when Pick has already chosen in runDir (its record and the winner's checkpoint
    /// are there: an interrupted PT), else null.
    public static long? ChosenSeed(string runDir)
    {
        var path = Path.Combine(runDir, "init-selection.json");
        var checkpoints = RunCheckpoint.Root(runDir);
        if (!File.Exists(path) || !Directory.Exists(checkpoints) || Directory.GetDirectories(checkpoints, "step-*").Length == 0) return null;
        int winner = Outcome(runDir)!.Value.Winner;
        return Read(runDir)!.Single(c => c.Index == winner).InitSeed;
    }

    /// How many starts Pick tried in runDir and which went on (candidate index, 0 = the seed's own), or null when the
    /// stage did not select.
    public static (int Tried, int Winner)? Outcome(string runDir)
    {
        var path = Path.Combine(runDir, "init-selection.json");
        if (!File.Exists(path)) return null;
        using var doc = Core.JsonFile.Document(path);
        return (doc.RootElement.GetProperty("candidates").GetArrayLength(), doc.RootElement.GetProperty("winner").GetInt32());
    }

    /// The candidates' scores written by Pick, or null when the stage did not select.
    public static IReadOnlyList<Candidate>? Read(string runDir)
    {
        var path = Path.Combine(runDir, "init-selection.json");
        if (!File.Exists(path)) return null;
        using var doc = Core.JsonFile.Document(path);
        return doc.RootElement.GetProperty("candidates").EnumerateArray()
            .Select(c => new Candidate(c.GetProperty("Index").GetInt32(), c.GetProperty("InitSeed").GetInt64(), c.GetProperty("Loss").GetDouble())).ToList();
    }
}
