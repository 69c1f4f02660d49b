using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Hugging Face model directories (config.json + model.safetensors or sharded safetensors).
public static class Pretrained
{
    /// Loads a LlamaForCausalLM from an HF directory (a Phi-3 one too: its config reads through Phi3Config and
    /// its fused tensors are split). The model is built directly in `dtype` (default: the default dtype) so an
    /// 8B model does not first materialise in fp32.
    public static LlamaForCausalLM LoadLlama(string dir, Device? device = null, ScalarType? dtype = null)
    {
        var config = LlamaConfig.FromHfJson(ReadConfig(dir), Path.Combine(dir, "config.json"));
        var model = WithDefaultDtype(dtype, () => new LlamaForCausalLM(config, device, initialize: false));
        LoadDecoderWeights(model, dir, config, HfNames.FromHfLlama(config));
        return model;
    }

    /// Loads the decoder an HF directory's config.json names: model_type "llama" or "phi3" (anything else throws).
    public static LlamaForCausalLM LoadCausalLm(string dir, Device? device = null, ScalarType? dtype = null)
    {
        var type = ReadConfig(dir)["model_type"]?.GetValue<string>();
        if (type is not ("llama" or "phi3"))
            throw new NotSupportedException($"{Path.Combine(dir, "config.json")}: model_type '{type ?? "(missing)"}' is not a decoder this library builds (llama, phi3)");
        return LoadLlama(dir, device, dtype);
    }

    /// Writes an HF-layout directory (config.json + model.safetensors) for a LlamaForCausalLM; a Phi-3 model is
    /// written in Phi-3's fused layout, which transformers' Phi3ForCausalLM reads.
    public static void SaveLlama(LlamaForCausalLM model, string dir)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), model.Config.ToHfJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Checkpoint.Save(model, Path.Combine(dir, "model.safetensors"), layout: model.Config.ModelType == "phi3" ? Phi3Weights.Fuse : null);
    }

    /// Strict load of decoder weights; Phi-3's fused qkv_proj / gate_up_proj tensors are split first.
    static void LoadDecoderWeights(nn.Module model, string dir, LlamaConfig text, Func<string, string?> map, IReadOnlyList<string>? onlyUnder = null)
    {
        if (text.ModelType != "phi3") { Checkpoint.Load(model, dir, map, onlyUnder); return; }
        var sd = Checkpoint.Read(dir);
        try
        {
            using var scope = NewDisposeScope();
            Checkpoint.Load(model, Phi3Weights.Unfuse(sd, text, dir), map, dir, onlyUnder);
        }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }

    /// Loads a CLIP vision tower from an HF CLIPModel or CLIPVisionModel directory (text tower ignored).
    public static ClipVisionModel LoadClipVision(string dir, Device? device = null, ScalarType? dtype = null)
    {
        var config = ReadClipVisionConfig(dir);
        var model = WithDefaultDtype(dtype, () => new ClipVisionModel(config, device));
        Checkpoint.Load(model, dir, HfNames.FromHfClipVision);
        return model;
    }

    /// Loads an HF CLIPVisionModelWithProjection directory (e.g. SD-2.1-unCLIP's image_encoder/: config.json +
    /// model.safetensors, fp16 there) into `dtype` (default: the default dtype); weights are converted on copy.
    public static ClipVisionModelWithProjection LoadClipVisionWithProjection(string dir, Device? device = null, ScalarType? dtype = null)
    {
        var config = ReadClipVisionConfig(dir);
        var model = WithDefaultDtype(dtype, () => new ClipVisionModelWithProjection(config, device));
        Checkpoint.Load(model, dir, HfNames.FromHfClipVisionWithProjection);
        return model;
    }

    /// Loads an original-LLaVA directory (config.json with Llama keys + mm_* keys; weights named model.*,
    /// model.mm_projector.*, lm_head.*) plus the CLIP directory its mm_vision_tower names. The image
    /// placeholder is LLaVA's IMAGE_TOKEN_INDEX (−200) unless given.
    public static LlavaModel LoadLlava(string llavaDir, string clipDir, Device? device = null, ScalarType? dtype = null,
        long imageTokenId = TiktokenImageIndex)
    {
        var j = ReadConfig(llavaDir);
        string src = Path.Combine(llavaDir, "config.json");
        var text = LlamaConfig.FromHfJson(j, src);
        var projectorType = ConfigJson.String(j, "mm_projector_type", src, "mlp2x_gelu")!;
        var selectLayer = ConfigJson.Int(j, "mm_vision_select_layer", src, -2, min: int.MinValue);
        // Not an LLaVA key: SaveLlava writes it only for a projector wider than LLaVA's (the miniature's).
        int? projectorHidden = j["mm_projector_hidden"] is null ? null : ConfigJson.Int(j, "mm_projector_hidden", src);
        var vision = ReadClipVisionConfig(clipDir);
        var config = new LlavaConfig(vision, text, imageTokenId, selectLayer, projectorType, projectorHidden);
        var model = WithDefaultDtype(dtype, () => new LlavaModel(config, device));
        Checkpoint.Load(model, clipDir, n => HfNames.FromHfClipVision(n) is string v ? "vision_tower." + v : null, ["vision_tower."]);
        Func<string, string?> map = n => HfNames.FromLlava(n) is string m && !(text.TieWordEmbeddings && m == "language_model.lm_head.weight")
            && !m.StartsWith("vision_tower.") ? m : null;
        LoadDecoderWeights(model, llavaDir, text, map, ["mm_projector.", "language_model."]);
        return model;
    }

    /// Writes `model` as an original-LLaVA directory (without the CLIP tower) and the tower as an HF CLIP
    /// directory — the inverse of LoadLlava.
    public static void SaveLlava(LlavaModel model, string llavaDir, string clipDir)
    {
        Directory.CreateDirectory(llavaDir); Directory.CreateDirectory(clipDir);
        var c = model.Config;
        var j = c.Text.ToHfJson();
        bool phi3 = c.Text.ModelType == "phi3";
        j["model_type"] = phi3 ? "llava_phi3" : "llava_llama";
        j["architectures"] = new JsonArray(phi3 ? "LlavaPhi3ForCausalLM" : "LlavaLlamaForCausalLM");
        j["mm_projector_type"] = c.ProjectorType; j["mm_vision_select_layer"] = c.VisionSelectLayer;
        j["mm_hidden_size"] = c.Vision.HiddenSize; j["mm_vision_tower"] = clipDir;
        if (c.ProjectorHidden is int ph) j["mm_projector_hidden"] = ph;
        var opts = new JsonSerializerOptions { WriteIndented = true };
        File.WriteAllText(Path.Combine(llavaDir, "config.json"), j.ToJsonString(opts));
        var v = c.Vision;
        var clip = new JsonObject { ["model_type"] = "clip_vision_model", ["hidden_size"] = v.HiddenSize, ["intermediate_size"] = v.IntermediateSize,
            ["num_hidden_layers"] = v.NumLayers, ["num_attention_heads"] = v.NumHeads, ["image_size"] = v.ImageSize,
            ["patch_size"] = v.PatchSize, ["num_channels"] = v.NumChannels, ["layer_norm_eps"] = v.LayerNormEps,
            ["hidden_act"] = v.Act, ["projection_dim"] = v.Projection };
        File.WriteAllText(Path.Combine(clipDir, "config.json"), clip.ToJsonString(opts));
        Checkpoint.Save(model.VisionTower, Path.Combine(clipDir, "model.safetensors"));
        Checkpoint.Save(model, Path.Combine(llavaDir, "model.safetensors"), HfNames.ToLlava, n => !n.StartsWith("vision_tower."),
            phi3 ? Phi3Weights.Fuse : null);
    }

    const long TiktokenImageIndex = -200;

    /// The vision tower config of an HF CLIPModel (vision_config), CLIPVisionModel or CLIPVisionModelWithProjection directory.
    public static ClipVisionConfig ReadClipVisionConfig(string dir)
    {
        var root = ReadConfig(dir);
        var j = root["vision_config"] ?? root;
        string src = Path.Combine(dir, "config.json");
        int I(string k) => ConfigJson.Int(j, k, src);
        // ClipMlp computes quick-GELU (OpenAI's CLIPs, HF's default) or exact GELU (OpenCLIP conversions); nothing else.
        var act = ConfigJson.String(j, "hidden_act", src, "quick_gelu");
        if (act is not ("quick_gelu" or "gelu"))
            throw new NotSupportedException($"{src}: vision hidden_act '{act}' is not supported (ClipMlp computes quick_gelu or gelu)");
        return new ClipVisionConfig(I("hidden_size"), I("intermediate_size"), I("num_hidden_layers"), I("num_attention_heads"),
            I("image_size"), I("patch_size"), ConfigJson.Int(j, "num_channels", src, 3), ConfigJson.Double(j, "layer_norm_eps", src, 1e-5),
            act!, ConfigJson.Int(j, "projection_dim", src, ConfigJson.Int(root, "projection_dim", src, 512))).Normalized();
    }

    public static JsonNode ReadConfig(string dir)
    {
        var path = Path.Combine(dir, "config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"Pretrained: no config.json in '{dir}'", path);
        return ConfigJson.Parse(path);
    }

    /// Builds a module with torch's default dtype set to `dtype` (no change when null), so its parameters are
    /// allocated in that dtype once instead of in float32 and then converted. Process-wide while `build` runs.
    public static T WithDefaultDtype<T>(ScalarType? dtype, Func<T> build)
    {
        if (dtype is not ScalarType dt) return build();
        var old = get_default_dtype();
        set_default_dtype(dt);
        try { return build(); } finally { set_default_dtype(old); }
    }
}
