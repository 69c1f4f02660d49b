using OlaVlm.World;

namespace OlaVlm.Data.Layouts;

/// How to read a released layout: what to do with a malformed record or a missing image (stop with one error
/// naming the file and the record, or skip and count), whether image files are checked, and an optional cap on
/// the records kept (the rest of the file is then never read).
public sealed record LayoutOptions
{
    public MalformedRecordPolicy Policy { get; init; } = MalformedRecordPolicy.Throw;
    public bool CheckImages { get; init; } = true;
    public int? MaxRecords { get; init; }
}

/// A released LLaVA-format dataset as it lies on disk after download: where the JSON is, which folder its `image`
/// paths are relative to, and which sub-folders those paths may name. Paths are relative to the dataset root.
/// ImageFolders empty: any path under ImageRoot. TextOnly: whether records without `image` belong (665K's ShareGPT).
public sealed record LlavaLayout(string Name, string JsonFile, string ImageRoot, IReadOnlyList<string> ImageFolders, bool TextOnly)
{
    /// LLaVA-Pretrain (PT): blip_laion_cc_sbu_558k.json beside images/, images as `00453/004539375.jpg`.
    public static LlavaLayout Pretrain558K { get; } = new("LLaVA-Pretrain 558K", "blip_laion_cc_sbu_558k.json", "images", [], false);

    /// LLaVA-1.5's IFT mix: llava_v1_5_mix665k.json, images under the root as LLaVA's docs lay them out.
    public static LlavaLayout Mix665K { get; } = new("LLaVA-1.5 mix 665K", "llava_v1_5_mix665k.json", ".",
        ["coco/train2017", "gqa/images", "ocr_vqa/images", "textvqa/train_images", "vg/VG_100K", "vg/VG_100K_2"], true);

    /// ALLaVA-4V captions (OLA-VLM's optional VPT stage): the JSON in its subset folder, image paths from the root.
    public static LlavaLayout AllavaCaptionLaion { get; } = new("ALLaVA-Caption-LAION-4V", "allava_laion/ALLaVA-Caption-LAION-4V.json", ".", ["allava_laion/images"], false);
    public static LlavaLayout AllavaCaptionVflan { get; } = new("ALLaVA-Caption-VFLAN-4V", "allava_vflan/ALLaVA-Caption-VFLAN-4V.json", ".", ["allava_vflan/images"], false);

    public string JsonPath(string root) => Path.GetFullPath(Path.Combine(root, JsonFile));
    public string ImageRootPath(string root) => Path.GetFullPath(Path.Combine(root, ImageRoot));

    /// Streams the records (LlavaJsonStream), each checked against this layout: an image inside ImageFolders whose
    /// file exists (CheckImages), or no image where TextOnly allows. Skips are counted in `skips`.
    public IEnumerable<StreamedRecord> Records(string root, LayoutOptions? options = null, SkipReport? skips = null)
    {
        options ??= new LayoutOptions();
        var json = JsonPath(root);
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"{Name}: dataset folder not found: '{root}'");
        if (!File.Exists(json)) throw new FileNotFoundException($"{Name}: '{JsonFile}' not found under '{root}'", json);
        skips ??= new SkipReport(json);
        return Checked(root, json, options, skips);
    }

    IEnumerable<StreamedRecord> Checked(string root, string json, LayoutOptions options, SkipReport skips)
    {
        var imageRoot = ImageRootPath(root);
        int kept = 0;
        if (options.MaxRecords is <= 0) yield break;
        foreach (var r in LlavaJsonStream.Read(json, options.Policy, skips))
        {
            var problem = Problem(r.Record, imageRoot, options.CheckImages);
            if (problem is null)
            {
                yield return r;
                if (++kept == options.MaxRecords) yield break;
                continue;
            }
            if (options.Policy == MalformedRecordPolicy.SkipAndReport) { skips.Add(r.Index, r.Record.Id, $"line {r.Line}: {problem}"); continue; }
            throw new LlavaFormatException($"'{json}' record {r.Index} (line {r.Line}, id {r.Record.Id}): {problem}");
        }
    }

    string? Problem(LlavaRecord r, string imageRoot, bool checkFile)
    {
        if (r.Image is null) return TextOnly ? null : $"no 'image': every {Name} record has one";
        var rel = r.Image.Replace('\\', '/');
        if (ImageFolders.Count > 0 && !ImageFolders.Any(f => rel.StartsWith(f + "/", StringComparison.Ordinal)))
            return $"image '{r.Image}' is outside {Name}'s image folders ({string.Join(", ", ImageFolders)})";
        var file = Path.Combine(imageRoot, rel);
        return checkFile && !File.Exists(file) ? $"image file missing: '{file}'" : null;
    }

    /// The records as a LlavaDataset (for ConversationData), plus what was skipped. Use MaxRecords for a subset of
    /// a large file: records are streamed, so only the kept ones are held.
    public (LlavaDataset Data, SkipReport Skips) Load(string root, LayoutOptions? options = null)
    {
        var skips = new SkipReport(JsonPath(root));
        var records = Records(root, options, skips).Select(r => r.Record).ToList();
        return (LlavaDataset.FromRecords(JsonPath(root), ImageRootPath(root), records, skips.First), skips);
    }
}
