using OlaVlm.Data;
using OlaVlm.Model;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Foundation;

/// Held-out accuracy of one linear probe, beside the majority-class baseline and a random-init tower's.
public sealed record PatchProbeResult(string Property, string Features, int Classes, int Train, int Test, double Accuracy,
                                      double RandomTower, double Majority);

/// What the mini CLIP's patch features (layer −2, what LLaVA reads) hold, measured with linear probes
/// (softmax regression on standardised features, trained on 75 % of the samples, scored on the rest):
///   colour, shape    of an object, from the ONE patch under its box centre (does a patch see its object?)
///   position         column (0–7) of the left-most object, from the 8 column-pooled features
///   count            objects in the image, from the mean over all patches
/// A CLIP trained with PatchHeads (found-10) was taught the shape at exactly this patch, so its shape probe
/// measures how well that read-out generalises to other scenes (ift), not something it picked up unasked.
/// The same probes on a random-init tower of the same shape separate what training added from what the
/// architecture gives for free.
public static class PatchProbes
{
    public static List<PatchProbeResult> Run(ClipVisionModel trained, WorldData world, string split, int scenes, Device? device = null, int iterations = 300)
    {
        device ??= trained.parameters().First().device;
        var list = world.Scenes(split).Take(scenes).ToList();
        if (list.Count < 8) throw new ArgumentException($"PatchProbes: split '{split}' of {world.Root} has {list.Count} scenes; need at least 8");
        using var bank = ImageBank.Load(list.Select(s => s.Image), p => Path.Combine(world.Root, p));
        manual_seed(5).Dispose();
        using var random = new ClipVisionModel(trained.Config, device) { SelectLayer = trained.SelectLayer };
        var tr = Grids(trained, bank, list.Count, device);
        var rd = Grids(random, bank, list.Count, device);
        int size = world.Manifest.Config.ImageSize;
        var colours = Shapes.Colors.Select(c => c.Name).ToList();

        // Object-level samples: the patch at each object's box centre.
        var objs = list.SelectMany((s, i) => s.Objects.Select(o => (Scene: i, Facts: ObjectFacts.Of(o, size), Obj: o))).ToList();
        Tensor AtCentres(Tensor g) => stack(objs.Select(x => g[x.Scene, .., x.Facts.Row, x.Facts.Col]).ToArray(), 0);
        var results = new List<PatchProbeResult>
        {
            Probe("colour", "centre patch", AtCentres(tr), AtCentres(rd), objs.Select(x => (long)colours.IndexOf(x.Obj.Color)).ToArray(), colours.Count, iterations),
            Probe("shape", "centre patch", AtCentres(tr), AtCentres(rd), objs.Select(x => (long)x.Obj.Shape).ToArray(), Shapes.All.Length, iterations),
        };
        // Image-level samples.
        var leftCol = list.Select(s => (long)s.Objects.Select(o => ObjectFacts.Of(o, size)).MinBy(f => f.X)!.Col).ToArray();
        results.Add(Probe("position (column of the left-most object)", "column-pooled", tr.mean([2]).flatten(1), rd.mean([2]).flatten(1), leftCol, ObjectFacts.Grid, iterations));
        int maxObjects = list.Max(s => s.Objects.Count);
        results.Add(Probe("count", "mean of all patches", tr.mean([2, 3]), rd.mean([2, 3]), list.Select(s => (long)s.Objects.Count).ToArray(), maxObjects + 1, iterations));
        tr.Dispose(); rd.Dispose();
        return results;
    }

    /// Patch features as a [N, D, 8, 8] grid (row-major patches), on the CPU.
    static Tensor Grids(ClipVisionModel tower, ImageBank bank, int n, Device device)
    {
        using var _ = no_grad();
        bool was = tower.training;
        tower.eval();
        var parts = new List<Tensor>();
        for (int s = 0; s < n; s += 128)
        {
            using var scope = NewDisposeScope();
            var px = bank.Pixels(Enumerable.Range(s, Math.Min(128, n - s)).ToList(), device);
            var f = tower.forward(px);                                       // [b, P, d]
            long b = f.shape[0], p = f.shape[1], d = f.shape[2], side = (long)Math.Round(Math.Sqrt(p));
            if (side * side != p) throw new InvalidOperationException($"PatchProbes: {p} patch tokens do not form a square grid");
            parts.Add(f.transpose(1, 2).reshape(b, d, side, side).cpu().MoveToOuterDisposeScope());
        }
        if (was) tower.train();
        var all = cat(parts, 0);
        foreach (var t in parts) t.Dispose();
        return all;
    }

    static PatchProbeResult Probe(string property, string features, Tensor trained, Tensor random, long[] y, int classes, int iterations)
    {
        int n = y.Length, nTrain = n * 3 / 4;
        double majority = y.Skip(nTrain).GroupBy(v => v).Max(g => g.Count()) / (double)(n - nTrain);
        return new PatchProbeResult(property, features, classes, nTrain, n - nTrain, Fit(trained, y, classes, nTrain, iterations),
                                    Fit(random, y, classes, nTrain, iterations), majority);
    }

    /// Held-out accuracy of a softmax regression trained on the first nTrain rows (features standardised
    /// with the training rows' statistics).
    public static double Fit(Tensor x, long[] y, int classes, int nTrain, int iterations = 300)
    {
        using var scope = NewDisposeScope();
        var mu = x[..nTrain].mean([0], keepdim: true);
        var sd = x[..nTrain].std(0, keepdim: true) + 1e-5;
        var xs = ((x - mu) / sd).detach();
        var yt = tensor(y);
        manual_seed(0).Dispose();
        using var lin = nn.Linear(x.shape[1], classes);
        using var opt = optim.AdamW(lin.parameters(), 1e-2, weight_decay: 1e-2);
        for (int it = 0; it < iterations; it++)
        {
            using var step = NewDisposeScope();
            opt.zero_grad();
            nn.functional.cross_entropy(lin.forward(xs[..nTrain]), yt[..nTrain]).backward();
            opt.step();
        }
        using var _ = no_grad();
        return lin.forward(xs[nTrain..]).argmax(1).eq(yt[nTrain..]).to(ScalarType.Float32).mean().item<float>();
    }
}
