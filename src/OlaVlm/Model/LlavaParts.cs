using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// LLaVA assembled from downloaded parts, as LLaVA's train.py starts (`--model_name_or_path` an LLM,
/// `--vision_tower` a CLIP or OpenCLIP ConvNeXt): the tower and the decoder loaded strictly, the projector new.
/// The same call reads a LLaVA folder written by training (config.json with mm_* keys, weights under LLaVA's names
/// `model.*`, `model.mm_projector.*`, `lm_head.*`), then the projector comes from the file too.
/// Unlike Pretrained.LoadLlava this takes either tower: `visionPath` is a Hugging Face CLIP folder (config.json),
/// or an OpenCLIP ConvNeXt release (a folder with open_clip_config.json / open_clip_pytorch_model.bin /
/// open_clip_model.safetensors, or such a file). The tower is frozen in every OLA-VLM stage, so a saved LLaVA
/// folder never holds it: config.json's mm_vision_tower names where it is, as in the reference.
public static class LlavaParts
{
    /// Whether `visionPath` is an OpenCLIP ConvNeXt release rather than a Hugging Face CLIP folder.
    public static bool IsConvNext(string visionPath) => File.Exists(visionPath)
        ? !Path.GetFileName(visionPath).Equals("config.json", StringComparison.OrdinalIgnoreCase)
        : new[] { ConvNextPretrained.ConfigFile, ConvNextPretrained.BinFile, ConvNextPretrained.SafetensorsFile }.Any(f => File.Exists(Path.Combine(visionPath, f)));

    /// The LlavaConfig of an LLM (or LLaVA) folder with a tower. convNext: the ConvNeXt's shape (default XXLarge at 768²).
    public static LlavaConfig ReadConfig(string lmDir, string visionPath, long imageTokenId, ConvNextConfig? convNext = null)
    {
        var j = Pretrained.ReadConfig(lmDir);
        var text = LlamaConfig.FromHfJson(j, Path.Combine(lmDir, "config.json"));
        var projector = j["mm_projector_type"]?.GetValue<string>() ?? "mlp2x_gelu";
        var projectorHidden = j["mm_projector_hidden"]?.GetValue<int>();
        if (IsConvNext(visionPath)) return LlavaConfig.WithConvNext(convNext ?? ConvNextConfig.XXLarge(), text, imageTokenId, projector, projectorHidden);
        int select = j["mm_vision_select_layer"]?.GetValue<int>() ?? -2;
        return new LlavaConfig(Pretrained.ReadClipVisionConfig(visionPath), text, imageTokenId, select, projector, projectorHidden);
    }

    /// Builds LLaVA in `dtype` (the projector drawn from torch's generator: seed it first) and loads the tower and
    /// the language model (and the projector, from a LLaVA folder).
    public static LlavaModel Load(string lmDir, string visionPath, long imageTokenId, Device? device = null, ScalarType? dtype = null,
                                  ConvNextConfig? convNext = null)
    {
        var config = ReadConfig(lmDir, visionPath, imageTokenId, convNext);
        var model = Pretrained.WithDefaultDtype(dtype, () => new LlavaModel(config, device));
        try
        {
            LoadTower(model, visionPath);
            var sd = Checkpoint.Read(lmDir);
            try { LoadLanguage(model, sd, lmDir); }
            finally { foreach (var t in sd.Values) t.Dispose(); }
        }
        catch { model.Dispose(); throw; }
        return model;
    }

    /// The tower's weights, strictly: HF CLIP names (text tower dropped) or the OpenCLIP trunk (FromOpenClip).
    public static void LoadTower(LlavaModel model, string visionPath)
    {
        if (model.Config.ConvNext is not { } cnx)
        {
            Checkpoint.Load(model, visionPath, n => HfNames.FromHfClipVision(n) is string v ? "vision_tower." + v : null, ["vision_tower."]);
            return;
        }
        var file = ConvNextPretrained.ResolveFile(visionPath, cnx);
        var sd = Checkpoint.Read(file);
        // The tower's state dict also lists its trunk's tensors under `vision_tower.trunk.` (the same tensors): load by the
        // reference's names (stem, stages) and the aliases follow.
        try { Checkpoint.Load(model, sd, n => ConvNextPretrained.FromOpenClip(n) is string v ? "vision_tower." + v : null, file, ["vision_tower.stem.", "vision_tower.stages."]); }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }

    /// The decoder (and, for LLaVA names, the projector) from a state dict: LLaVA's names when it holds
    /// `model.mm_projector.*`, a base LLM's otherwise. Phi-3's fused tensors are split first; a tied head's
    /// duplicate and any saved tower are dropped; every other key must fit (strict).
    public static void LoadLanguage(LlavaModel model, IReadOnlyDictionary<string, Tensor> sd, string source)
    {
        var text = model.Config.Text;
        bool llava = sd.Keys.Any(k => k.StartsWith("model.mm_projector."));
        using var scope = NewDisposeScope();
        var weights = text.ModelType == "phi3" ? Phi3Weights.Unfuse(sd, text, source) : sd;
        Func<string, string?> map = llava
            ? n => HfNames.FromLlava(n) is string m && !m.StartsWith("vision_tower.") && !(text.TieWordEmbeddings && m == "language_model.lm_head.weight") ? m : null
            : n => HfNames.FromHfLlama(text)(n) is string m ? "language_model." + m : null;
        Checkpoint.Load(model, weights, map, source, llava ? ["mm_projector.", "language_model."] : ["language_model."]);
    }

    /// config.json of a LLaVA folder: the decoder's keys plus LLaVA's mm_* keys (model_type llava_phi3 / llava_llama).
    public static JsonObject ConfigJson(LlavaConfig c, string visionPath)
    {
        var j = c.Text.ToHfJson();
        bool phi3 = c.Text.ModelType == "phi3";
        j["model_type"] = phi3 ? "llava_phi3" : "llava_llama";
        j["architectures"] = new JsonArray(phi3 ? "LlavaPhi3ForCausalLM" : "LlavaLlamaForCausalLM");
        j["mm_projector_type"] = c.ProjectorType;
        j["mm_vision_select_layer"] = c.VisionSelectLayer;
        j["mm_hidden_size"] = c.MmHiddenSize;
        j["mm_vision_tower"] = Path.GetFullPath(visionPath);
        j["mm_use_im_start_end"] = false;
        j["mm_use_im_patch_token"] = false;
        j["image_aspect_ratio"] = "pad";
        if (c.ProjectorHidden is int ph) j["mm_projector_hidden"] = ph;
        return j;
    }
}
