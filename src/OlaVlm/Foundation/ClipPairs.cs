using OlaVlm.Data;
using OlaVlm.Text;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Foundation;

/// Matching (image, caption) pairs for contrastive training and retrieval: images in an ImageBank,
/// captions as token ids ending in EOS (CLIP's text tower pools at the last real token, as CLIP pools
/// at its EOS). Group: pairs whose captions say the same thing share a group (see Retrieval).
public sealed class ClipPairs : IDisposable
{
    public ImageBank Images { get; }
    public IReadOnlyList<string> ImageKeys { get; }
    public IReadOnlyList<string> Captions { get; }
    public IReadOnlyList<long[]> CaptionIds { get; }
    public IReadOnlyList<int> Groups { get; }
    /// Folder the image keys are relative to.
    public string ImageRoot { get; }
    public int Count => Captions.Count;
    /// Hard-negative captions (HardNegatives) of each pair as token ids, a pool per pair; null until added.
    public IReadOnlyList<long[][]>? NegativeIds { get; private set; }
    /// Dense labels of each pair's image (PatchTargets); null until added.
    public IReadOnlyList<PatchTargets>? Patches { get; private set; }

    ClipPairs(ImageBank images, string root, List<string> keys, List<string> captions, List<long[]> ids, List<int> groups)
    { Images = images; ImageRoot = root; ImageKeys = keys; Captions = captions; CaptionIds = ids; Groups = groups; }

    /// The image of pair i, decoded from its file (for display).
    public SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24> LoadImage(int i) => ImageLoader.Load(Path.Combine(ImageRoot, ImageKeys[i]));

    /// Pre-training pairs: every image record of a caption dataset (pt.json) with its first answer.
    public static ClipPairs FromCaptionData(LlavaDataset data, ITokenizer tok, int maxLength)
    {
        var records = data.Records.Where(r => r.HasImage).ToList();
        if (records.Count == 0) throw new InvalidDataException($"{data.File}: no image records to pair with captions");
        var captions = records.Select((r, i) => r.Conversations.FirstOrDefault(t => t.From == LlavaRecord.Gpt)?.Value
            ?? throw new InvalidDataException($"{data.File}: record {i} (id {r.Id}) has no gpt turn to use as its caption")).ToList();
        return Build(ImageBank.Load(data), data.ImageRoot, records.Select(r => r.Image!).ToList(), captions, captions, tok, maxLength, data.File);
    }

    /// Retrieval pairs for a split whose records are instructions, not captions (val): the caption is
    /// written from the scene's object list as pt's captions are, so every image has one; pairs whose
    /// captions are identical share a group.
    public static ClipPairs FromScenes(WorldData world, string split, ITokenizer tok, int maxLength)
    {
        var scenes = world.Scenes(split);
        if (scenes.Count == 0) throw new InvalidDataException($"{world.ObjectsJson(split)}: no scenes");
        var captions = new List<string>(); var keys = new List<string>();
        foreach (var s in scenes)
        {
            var caption = OlaVlm.World.Captions.Describe(SceneQa.Shell(s.Id, s.Objects, world.Manifest.Config.ImageSize));
            captions.Add(caption);
            keys.Add(caption);
        }
        var bank = ImageBank.Load(scenes.Select(s => s.Image), p => Path.Combine(world.Root, p));
        return Build(bank, world.Root, scenes.Select(s => s.Image).ToList(), captions, keys, tok, maxLength, world.ObjectsJson(split));
    }

    static ClipPairs Build(ImageBank bank, string root, List<string> images, List<string> captions, List<string> groupKeys, ITokenizer tok, int maxLength, string source)
    {
        var ids = captions.Select((c, i) => Encode(tok, c, maxLength, $"{source}: caption {i} ({images[i]})")).ToList();
        var groupOf = new Dictionary<string, int>();
        var groups = groupKeys.Select(k => groupOf.TryGetValue(k, out var g) ? g : groupOf[k] = groupOf.Count).ToList();
        return new ClipPairs(bank, root, images, captions, ids, groups);
    }

    /// Adds a pool of `perPair` hard-negative captions to every pair, written from the scene of the pair's image
    /// (`scenes`: the split's objects.json records). An image without a scene is an error naming it.
    public ClipPairs WithHardNegatives(IReadOnlyList<SceneRecord> scenes, int imageSize, ITokenizer tok, int maxLength, int perPair, int seed)
    {
        var objects = SceneOfEachPair(scenes, "hard negatives").Select(s => s.Objects).ToList();
        NegativeIds = HardNegatives.Pool(objects, imageSize, perPair, seed)
            .Select((pool, i) => pool.Select(c => Encode(tok, c, maxLength, $"ClipPairs: hard negative of pair {i} ({ImageKeys[i]})")).ToArray()).ToList();
        return this;
    }

    /// Adds every pair's PatchTargets, from its scene's segmentation file in `world` (`scenes`: the split's
    /// objects.json records). An image without a scene, or a scene without a segmentation file, is an error naming it.
    public ClipPairs WithPatchTargets(WorldData world, IReadOnlyList<SceneRecord> scenes, int patchSize)
    {
        int size = world.Manifest.Config.ImageSize;
        var cache = new Dictionary<string, PatchTargets>();
        Patches = SceneOfEachPair(scenes, "patch targets").Select(s => cache.TryGetValue(s.Image, out var t) ? t
            : cache[s.Image] = PatchTargets.Of(world.Seg(s), s.Objects, size, patchSize, Path.Combine(world.Root, s.Seg ?? s.Id))).ToList();
        return this;
    }

    // The scene of every pair's image, in pair order; an image without one is an error naming it and the purpose.
    List<SceneRecord> SceneOfEachPair(IReadOnlyList<SceneRecord> scenes, string purpose)
    {
        var byImage = scenes.ToDictionary(s => s.Image);
        return ImageKeys.Select(k => byImage.TryGetValue(k, out var s) ? s
            : throw new InvalidDataException($"ClipPairs: image '{k}' has no scene among the {scenes.Count} given for {purpose}")).ToList();
    }

    // A caption's ids ending in EOS (CLIP's text tower pools there); longer than the tower takes is an error, not a cut.
    static long[] Encode(ITokenizer tok, string caption, int maxLength, string what)
    {
        var t = tok.Encode(caption).Append(tok.EosId).ToArray();
        return t.Length <= maxLength ? t
            : throw new InvalidDataException($"{what} is {t.Length} tokens, over the text tower's {maxLength}: \"{caption}\"");
    }

    /// Right-padded ids + mask [B, T] of some captions (token ids ending in EOS).
    public static (Tensor Ids, Tensor Mask) TextBatch(IReadOnlyList<long[]> captions, long padId, Device device)
    {
        int t = captions.Max(c => c.Length);
        var ids = new long[captions.Count * t]; var mask = new long[captions.Count * t];
        Array.Fill(ids, padId);
        for (int b = 0; b < captions.Count; b++)
            for (int j = 0; j < captions[b].Length; j++) { ids[b * t + j] = captions[b][j]; mask[b * t + j] = 1; }
        return (tensor(ids, [captions.Count, t], device: device), tensor(mask, [captions.Count, t], device: device));
    }

    /// Pixels [B, 3, S, S] and right-padded caption ids + mask [B, T] for some pairs.
    public (Tensor Pixels, Tensor Ids, Tensor Mask) Batch(IReadOnlyList<int> indices, long padId, Device device)
    {
        var pixels = Images.Pixels(indices.Select(i => Images.Row(ImageKeys[i])).ToList(), device);
        var (ids, mask) = TextBatch(indices.Select(i => CaptionIds[i]).ToList(), padId, device);
        return (pixels, ids, mask);
    }

    /// The pairs of training step `step`: consecutive slices of seeded epoch permutations (a function
    /// of (seed, step) only, so a resumed run sees the same batches).
    public int[] BatchAt(long seed, int step, int batchSize) => Batches.At(Count, seed, step, batchSize);

    public void Dispose() => Images.Dispose();
}

/// Deterministic batching over seeded epoch permutations.
public static class Batches
{
    public static int[] At(int count, long seed, int step, int batchSize)
    {
        if (batchSize <= 0 || batchSize > count) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size {batchSize} for {count} items");
        int perEpoch = count / batchSize, epoch = step / perEpoch, offset = step % perEpoch * batchSize;
        var order = Enumerable.Range(0, count).ToArray();
        // Not HashCode.Combine: it is salted per process, and the order must replay across runs.
        new Random((int)(Training.TrainConfig.StepSeed(seed, epoch) & 0x7fffffff)).Shuffle(order);
        return order.AsSpan(offset, batchSize).ToArray();
    }
}
