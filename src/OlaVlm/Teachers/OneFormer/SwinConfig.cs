using System.Text.Json;
using System.Text.Json.Nodes;

namespace OlaVlm.Teachers.OneFormer;

/// Hugging Face's SwinConfig: the fields SwinBackbone reads, with HF's defaults (microsoft/swin-tiny-patch4-window7-224).
/// A OneFormer checkpoint's config.json carries one as `backbone_config`.
///
/// Stages are named as HF names them: "stem" (the patch embedding) and "stage1".."stageN"; stage i (1-based)
/// has EmbedDim·2^(i−1) channels and runs at 1/(PatchSize·2^(i−1)) of the input resolution.
public sealed record SwinConfig
{
    public int ImageSize { get; init; } = 224;      // only sizes position embeddings, which OneFormer's Swin has none of
    public int PatchSize { get; init; } = 4;
    public int NumChannels { get; init; } = 3;
    public int EmbedDim { get; init; } = 96;
    public int[] Depths { get; init; } = [2, 2, 6, 2];
    public int[] NumHeads { get; init; } = [3, 6, 12, 24];
    public int WindowSize { get; init; } = 7;
    public double MlpRatio { get; init; } = 4.0;
    public bool QkvBias { get; init; } = true;
    public string HiddenAct { get; init; } = "gelu";
    public bool UseAbsoluteEmbeddings { get; init; }
    public double LayerNormEps { get; init; } = 1e-5;
    /// Stages whose (normed) feature maps SwinBackbone returns; HF's default is the last stage alone.
    public string[]? OutFeatures { get; init; }

    /// shi-labs/oneformer_coco_swin_large's backbone: Swin-L 384 (microsoft/swin-large-patch4-window12-384), all
    /// four stages out (convert_to_hf_oneformer.py). OLA-VLM's seg target is its stage4 (1536 channels).
    public static SwinConfig OneFormerCocoSwinLarge { get; } = new()
    {
        ImageSize = 384, EmbedDim = 192, Depths = [2, 2, 18, 2], NumHeads = [6, 12, 24, 48], WindowSize = 12,
        OutFeatures = ["stage1", "stage2", "stage3", "stage4"],
    };

    /// The tiny random-weight configuration of the committed fixture (environment/fixtures/teacher_oneformer_swin.py).
    public static SwinConfig Tiny { get; } = new()
    {
        ImageSize = 64, EmbedDim = 8, Depths = [2, 2, 2], NumHeads = [2, 2, 4], WindowSize = 4,
        OutFeatures = ["stage1", "stage2", "stage3"],
    };

    public int NumStages => Depths.Length;
    public string[] StageNames => ["stem", .. Enumerable.Range(1, NumStages).Select(i => $"stage{i}")];
    public string[] Outputs => OutFeatures ?? [StageNames[^1]];

    /// Channels of stage `index` (0-based: 0 = stage1).
    public int StageDim(int index) => EmbedDim << index;

    /// Channels of a named stage ("stem" has the embedding width).
    public int Channels(string stage) => stage == "stem" ? EmbedDim : StageDim(Array.IndexOf(StageNames, stage) - 1);

    public int MlpHidden(int dim) => (int)(MlpRatio * dim);

    /// Throws on a configuration this port does not build exactly as HF would; `source` names the file in the message.
    public SwinConfig Validate(string source = "SwinConfig")
    {
        string Bad(string what) => $"{source}: {what}";
        if (Depths.Length == 0 || Depths.Length != NumHeads.Length)
            throw new InvalidDataException(Bad($"depths has {Depths.Length} stages, num_heads {NumHeads.Length}"));
        for (int i = 0; i < NumStages; i++)
            if (Depths[i] < 1 || NumHeads[i] < 1 || StageDim(i) % NumHeads[i] != 0)
                throw new InvalidDataException(Bad($"stage{i + 1}: width {StageDim(i)} is not a multiple of num_heads {NumHeads[i]} (or depth {Depths[i]} < 1)"));
        if (PatchSize < 1 || WindowSize < 1 || EmbedDim < 1 || NumChannels < 1)
            throw new InvalidDataException(Bad($"patch_size {PatchSize}, window_size {WindowSize}, embed_dim {EmbedDim}, num_channels {NumChannels} must be positive"));
        if (HiddenAct != "gelu")
            throw new InvalidDataException(Bad($"hidden_act '{HiddenAct}' is not supported (OneFormer's Swin uses 'gelu')"));
        if (UseAbsoluteEmbeddings)
            throw new InvalidDataException(Bad("use_absolute_embeddings true is not supported (OneFormer's Swin has no absolute position embeddings)"));
        foreach (var f in Outputs)
            if (!StageNames.Contains(f)) throw new InvalidDataException(Bad($"out_features names '{f}', not one of {string.Join(", ", StageNames)}"));
        var order = Outputs.Select(f => Array.IndexOf(StageNames, f)).ToArray();
        if (!order.SequenceEqual(order.Order().Distinct()))
            throw new InvalidDataException(Bad($"out_features [{string.Join(", ", Outputs)}] must be distinct and in stage order"));
        return this;
    }

    /// Reads an HF Swin config object (a OneFormer config.json's `backbone_config`, or a Swin config.json);
    /// absent keys take HF's defaults. `model_type` must be "swin" when present.
    public static SwinConfig FromHfJson(JsonNode j, string source)
    {
        var type = j["model_type"]?.GetValue<string>();
        if (type is not null && type != "swin")
            throw new InvalidDataException($"{source}: backbone model_type '{type}' is not 'swin' (only OneFormer's Swin backbone is ported)");
        var d = new SwinConfig();
        T Get<T>(string key, T fallback)
        {
            var node = j[key];
            if (node is null) return fallback;
            try { return node.Deserialize<T>()!; }
            catch (Exception e) { throw new InvalidDataException($"{source}: backbone key '{key}' = {node.ToJsonString()} is not a {typeof(T).Name} ({e.Message})"); }
        }
        var stages = Get<int[]>("depths", d.Depths);
        string[] names = ["stem", .. Enumerable.Range(1, stages.Length).Select(i => $"stage{i}")];
        var outFeatures = Get<string[]?>("out_features", null);
        var outIndices = Get<int[]?>("out_indices", null);
        if (outFeatures is null && outIndices is not null)
            outFeatures = outIndices.Select(i => i >= 0 && i < names.Length ? names[i]
                : throw new InvalidDataException($"{source}: out_indices {i} is outside 0..{names.Length - 1}")).ToArray();
        return new SwinConfig
        {
            ImageSize = ScalarOrFirst(j["image_size"], d.ImageSize, source, "image_size"),
            PatchSize = ScalarOrFirst(j["patch_size"], d.PatchSize, source, "patch_size"),
            NumChannels = Get("num_channels", d.NumChannels),
            EmbedDim = Get("embed_dim", d.EmbedDim),
            Depths = stages,
            NumHeads = Get("num_heads", d.NumHeads),
            WindowSize = Get("window_size", d.WindowSize),
            MlpRatio = Get("mlp_ratio", d.MlpRatio),
            QkvBias = Get("qkv_bias", d.QkvBias),
            HiddenAct = Get("hidden_act", d.HiddenAct),
            UseAbsoluteEmbeddings = Get("use_absolute_embeddings", d.UseAbsoluteEmbeddings),
            LayerNormEps = Get("layer_norm_eps", d.LayerNormEps),
            OutFeatures = outFeatures,
        }.Validate(source);
    }

    /// HF accepts an int or an [h, w] pair for image_size / patch_size; this port needs square patches.
    static int ScalarOrFirst(JsonNode? node, int fallback, string source, string key)
    {
        if (node is null) return fallback;
        if (node is JsonArray a)
        {
            var v = a.Select(x => x!.GetValue<int>()).Distinct().ToArray();
            if (v.Length != 1) throw new InvalidDataException($"{source}: {key} {node.ToJsonString()} is not square; this port needs square sizes");
            return v[0];
        }
        return node.GetValue<int>();
    }

    /// HF-style JSON of this config (for hashes and for writing test directories).
    public JsonObject ToHfJson() => new()
    {
        ["model_type"] = "swin", ["image_size"] = ImageSize, ["patch_size"] = PatchSize, ["num_channels"] = NumChannels,
        ["embed_dim"] = EmbedDim, ["depths"] = new JsonArray(Depths.Select(x => (JsonNode)x).ToArray()),
        ["num_heads"] = new JsonArray(NumHeads.Select(x => (JsonNode)x).ToArray()), ["window_size"] = WindowSize,
        ["mlp_ratio"] = MlpRatio, ["qkv_bias"] = QkvBias, ["hidden_act"] = HiddenAct,
        ["use_absolute_embeddings"] = UseAbsoluteEmbeddings, ["layer_norm_eps"] = LayerNormEps,
        ["out_features"] = new JsonArray(Outputs.Select(x => (JsonNode)x).ToArray()),
    };
}
