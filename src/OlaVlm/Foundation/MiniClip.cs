using OlaVlm.Model;
using OlaVlm.Training;
using static TorchSharp.torch;

namespace OlaVlm.Foundation;

/// Retrieval figures of a CLIP on held-out pairs.
public sealed record ClipReport(int Pairs, int DistinctCaptions, IReadOnlyList<RetrievalScore> Scores, double TrainSeconds)
{
    public RetrievalScore Get(string direction, int k) => Scores.First(s => s.Direction == direction && s.K == k);
    public override string ToString() => string.Join(", ", Scores.Select(s => $"{s.Direction} top-{s.K} {s.Accuracy:P1} (chance {s.Chance:P1})"));
}

/// One query image of a retrieval display.
public sealed record RetrievalExample(int Pair, string TrueCaption, (string Caption, double Score, bool Correct)[] Top);

/// The miniature CLIP: both towers trained from scratch with CLIP's symmetric contrastive loss on the
/// world's (image, caption) pairs. LLaVA then keeps only the vision tower (VisionTower).
public static class MiniClip
{
    /// Trains `clip` on `train` pairs with the Trainer (AdamW, warmup + cosine, clipping); curves go to runDir.
    /// resume: go on from runDir's last checkpoint (an interrupted foundation training), bit for bit as if uninterrupted.
    public static IReadOnlyList<StepRecord> Train(ClipModel clip, ClipPairs train, FoundationConfig f, long padId, string runDir, Device device,
                                                  bool resume = false)
    {
        var cfg = new TrainConfig
        {
            Steps = f.ClipSteps, BatchSize = f.ClipBatch, LearningRate = f.ClipLr, WeightDecay = f.WeightDecay,
            WarmupRatio = 0.05, Seed = f.Seed, LogEvery = f.LogEvery, OutputDir = runDir, KeepCheckpoints = 1,
        };
        int batch = Math.Min(f.ClipBatch, train.Count);
        // PatchHeads train beside the CLIP when their losses are weighted, as one module (the heads are dropped after).
        bool dense = f.ClipSegWeight > 0 || f.ClipCentreWeight > 0;
        if (dense && train.Patches is null)
            throw new ArgumentException($"MiniClip.Train: ClipSegWeight {f.ClipSegWeight} / ClipCentreWeight {f.ClipCentreWeight} need the pairs' patch targets (ClipPairs.WithPatchTargets)");
        using var heads = dense ? new PatchHeads(clip.Config.Vision.HiddenSize, device) : null;
        // Not disposed: disposing a module may dispose its children, and the CLIP lives on.
        var both = heads is null ? null : new ClipWithPatchHeads(clip, heads);
        nn.Module model = both is null ? clip : both;
        // No decay on embeddings and the temperature (1-D tensors are excluded anyway).
        var groups = ParamGroups.Build(model, cfg, noDecay: n => ParamGroups.IsEmbedding(n) || n.EndsWith("logit_scale"));
        using var trainer = new Trainer(model, groups, cfg, (step, _) =>
        {
            var idx = train.BatchAt(f.Seed, step, batch);
            var (pixels, ids, mask) = train.Batch(idx, padId, device);
            // Hard negatives (HardNegatives): f.ClipHardNegatives captions per image, drawn from its pool by a
            // (seed, step) generator so a resumed run sees the same ones.
            (Tensor, Tensor)? negatives = null;
            if (f.ClipHardNegatives > 0 && train.NegativeIds is { } pools)
            {
                var rng = new Random((int)(TrainConfig.StepSeed(f.Seed, step) & 0x7fffffff));
                negatives = ClipPairs.TextBatch(idx.SelectMany(i => Enumerable.Range(0, f.ClipHardNegatives)
                    .Select(_ => pools[i][rng.Next(pools[i].Length)])).ToList(), padId, device);
            }
            if (heads is null)
                return new LossParts(clip.Loss(pixels, ids, mask, negatives), ("temperature", 1 / clip.LogitScale.detach().exp())) { Samples = batch };
            var (embeds, patches) = clip.ImageEmbedsAndPatches(pixels, -2);   // the layer LLaVA reads
            var contrastive = clip.LossFromEmbeds(embeds, ids, mask, negatives);
            var (segT, centreT) = PatchTargets.Batch(idx.Select(i => train.Patches![i]).ToList(), device);
            var (seg, centre) = heads.Loss(patches, segT, centreT);
            var loss = contrastive + f.ClipSegWeight * seg + f.ClipCentreWeight * centre;
            return new LossParts(loss, ("contrastive", contrastive.detach()), ("seg", seg.detach()), ("centre", centre.detach()),
                                 ("temperature", 1 / clip.LogitScale.detach().exp())) { Samples = batch };
        }) { Title = "mini CLIP" };
        if (resume) trainer.Resume();
        return trainer.Run();
    }

    /// L2-normalised embeddings of all pairs (images, texts), each [N, projectionDim], computed in chunks.
    public static (Tensor Images, Tensor Texts) Embed(ClipModel clip, ClipPairs pairs, long padId, Device device, int chunk = 128)
    {
        using var noGrad = no_grad();
        bool wasTraining = clip.training;
        clip.eval();
        var imgs = new List<Tensor>(); var txts = new List<Tensor>();
        try
        {
            for (int s = 0; s < pairs.Count; s += chunk)
            {
                using var scope = NewDisposeScope();
                var idx = Enumerable.Range(s, Math.Min(chunk, pairs.Count - s)).ToList();
                var (pixels, ids, mask) = pairs.Batch(idx, padId, device);
                imgs.Add(clip.ImageEmbeds(pixels).MoveToOuterDisposeScope());
                txts.Add(clip.TextEmbeds(ids, mask).MoveToOuterDisposeScope());
            }
            return (cat(imgs, 0), cat(txts, 0));
        }
        finally
        {
            foreach (var t in imgs.Concat(txts)) t.Dispose();
            if (wasTraining) clip.train();
        }
    }

    /// Image↔text retrieval (top-1, top-5 both ways) over all pairs, identical captions grouped.
    public static ClipReport Evaluate(ClipModel clip, ClipPairs pairs, long padId, Device device, double trainSeconds = 0)
    {
        var (img, txt) = Embed(clip, pairs, padId, device);
        using (img) using (txt)
        using (var sim = mm(img, txt.t()))
            return new ClipReport(pairs.Count, pairs.Groups.Distinct().Count(), Retrieval.Evaluate(sim, pairs.Groups, 1, 5), trainSeconds);
    }

    /// For each of the images `queries`, the top `k` captions of all pairs: (caption index, similarity).
    public static List<(int Caption, double Score)[]> TopCaptions(ClipModel clip, ClipPairs pairs, IReadOnlyList<int> queries, long padId, Device device, int k = 3)
    {
        var (img, txt) = Embed(clip, pairs, padId, device);
        using (img) using (txt)
        {
            using var q = img.index_select(0, tensor(queries.Select(i => (long)i).ToArray(), device: img.device));
            using var sim = mm(q, txt.t()).cpu();
            var (vals, idx) = sim.topk(Math.Min(k, pairs.Count), dim: 1);
            using (vals) using (idx)
                return Enumerable.Range(0, queries.Count).Select(r => Enumerable.Range(0, (int)idx.shape[1])
                    .Select(j => ((int)idx[r, j].item<long>(), (double)vals[r, j].item<float>())).ToArray()).ToList();
        }
    }

    /// Retrieval examples for display: for each query image, its own caption and the top k captions
    /// (text, cosine similarity, whether it is a correct caption: same group).
    public static List<RetrievalExample> Examples(ClipModel clip, ClipPairs pairs, IReadOnlyList<int> queries, long padId, Device device, int k = 3) =>
        TopCaptions(clip, pairs, queries, padId, device, k).Select((top, r) => new RetrievalExample(queries[r], pairs.Captions[queries[r]],
            top.Select(t => (pairs.Captions[t.Caption], t.Score, pairs.Groups[t.Caption] == pairs.Groups[queries[r]])).ToArray())).ToList();

    /// Writes a CLIP as `dir`/model.safetensors + `dir`/config.json (what Load reads).
    public static void Save(ClipModel clip, string dir)
    {
        Directory.CreateDirectory(dir);
        Model.Checkpoint.Save(clip, Path.Combine(dir, "model.safetensors"));
        File.WriteAllText(Path.Combine(dir, "config.json"), System.Text.Json.JsonSerializer.Serialize(clip.Config, FoundationModels.Json));
    }

    /// A CLIP written by Save.
    public static ClipModel Load(string dir, Device device)
    {
        var path = Path.Combine(dir, "config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"MiniClip: no CLIP config at {path}", path);
        var config = Model.ConfigJson.Deserialize<ClipConfig>(path, FoundationModels.Json);
        var sizes = new[] { config.Vision.HiddenSize, config.Vision.IntermediateSize, config.Vision.NumLayers, config.Vision.NumHeads,
                            config.Vision.ImageSize, config.Vision.PatchSize, config.Text.HiddenSize, config.Text.NumHeads, config.ProjectionDim };
        if (sizes.Any(n => n <= 0)) throw new InvalidDataException($"{path}: a size is zero or negative ({string.Join(", ", sizes)})");
        var clip = new ClipModel(config, device);
        Model.Checkpoint.Load(clip, Path.Combine(dir, "model.safetensors"));
        return clip;
    }

    /// The CLIP's vision tower as LLaVA uses it: a ClipVisionModel (HF names vision_model.*) holding a copy
    /// of the trained weights, SelectLayer −2 (penultimate layer's patch features, class token dropped).
    public static ClipVisionModel VisionTower(ClipModel clip, Device? device = null)
    {
        var tower = new ClipVisionModel(clip.Config.Vision, device ?? Core.Devices.Default) { SelectLayer = -2 };
        var sd = clip.state_dict().Where(kv => kv.Key.StartsWith("vision_model.")).ToDictionary(kv => kv.Key, kv => kv.Value);
        Model.Checkpoint.Load(tower, sd, source: "mini CLIP vision tower");
        return tower;
    }
}
