namespace OlaVlm.Training;

/// One optimizer step as the Trainer saw it (History keeps every step; metrics files the logged ones).
/// Step is 1-based: the number of optimizer steps completed, like HF's global_step.
public sealed record StepRecord(int Step, double Loss, IReadOnlyDictionary<string, double> Parts,
                                double GradNorm, double[] Lrs, double Seconds, int Samples)

{
    /// A metrics row for the last of `recs` (the steps since the previous row): step, each group's lr, the loss and
    /// its parts, the gradient norm, and the speed over `recs`.
    public static List<KeyValuePair<string, double>> Row(IReadOnlyList<StepRecord> recs, IReadOnlyList<string> groupNames)
    {
        var last = recs[^1];
        double secs = recs.Sum(r => r.Seconds);
        var row = new List<KeyValuePair<string, double>> { new("step", last.Step) };
        for (int i = 0; i < groupNames.Count; i++) row.Add(new("lr_" + groupNames[i], last.Lrs[i]));
        row.Add(new("loss", last.Loss));
        foreach (var (name, v) in last.Parts) row.Add(new(name, v));
        row.Add(new("grad_norm", last.GradNorm));
        row.Add(new("sec_per_step", secs / recs.Count));
        row.Add(new("samples_per_s", recs.Sum(r => r.Samples) / Math.Max(secs, 1e-9)));
        return row;
    }

    /// The progress line's text: loss, its parts, gradient norm, first group's lr, time per step.
    public string Describe()
    {
        var parts = string.Concat(Parts.Select(p => $" {p.Key} {p.Value:F4}"));
        return $"loss {Loss:F4}{parts} | gnorm {GradNorm:F2} lr {(Lrs.Length > 0 ? Lrs[0] : 0):G3} | {Seconds:F2}s/step";
    }
}
