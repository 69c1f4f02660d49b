namespace OlaVlm.Experiments;

/// Probe curves averaged over seeds, one per model name (e.g. "OLA-VLM", "OLA-VLM after PT"): what a chart of PT
/// against final curves shows, so that seed-to-seed noise does not hide the difference between the two.
public static class ProbeAverages
{
    /// One LayerProbingResult per model with one curve for `teacher`: the mean over seeds of `transform(cosine)` per
    /// layer (default: the cosine itself; LayerProbing.Headroom for the share of the room above the mean target).
    public static IReadOnlyList<LayerProbingResult> MeanOverSeeds(IEnumerable<ProbedCheckpoint> probes, string teacher, Func<double, double>? transform = null)
    {
        transform ??= x => x;
        return probes.GroupBy(p => p.Model).Select(g =>
        {
            var curves = g.Select(p => p.Probing.Curve(teacher)).ToList();
            var layers = curves[0].Layers;
            if (curves.Any(c => !c.Layers.SequenceEqual(layers)))
                throw new ArgumentException($"ProbeAverages: the seeds of '{g.Key}' were probed at different layers");
            var mean = layers.Select((_, i) => curves.Average(c => transform(c.Cosines[i]))).ToList();
            return new LayerProbingResult($"{g.Key} ({curves.Count} seeds)", "", [curves[0] with { Cosines = mean }]);
        }).ToList();
    }
}
