using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace OlaVlm.Model;

/// Hugging Face model directories (config.json + model.safetensors or sharded safetensors).
public static class Pretrained
{
    /// Loads a LlamaForCausalLM from an HF directory. The model is built directly in `dtype`
    /// (default: the default dtype) so an 8B model does not first materialise in fp32.
    public static LlamaForCausalLM LoadLlama(string dir, Device? device = null, ScalarType? dtype = null)
    {
        var config = LlamaConfig.FromHfJson(ReadConfig(dir), Path.Combine(dir, "config.json"));
        var model = WithDefaultDtype(dtype, () => new LlamaForCausalLM(config, device));
        Checkpoint.Load(model, dir, HfNames.FromHfLlama(config));
        return model;
    }

    /// Writes an HF-layout directory (config.json + model.safetensors) for a LlamaForCausalLM.
    public static void SaveLlama(LlamaForCausalLM model, string dir)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), model.Config.ToHfJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Checkpoint.Save(model, Path.Combine(dir, "model.safetensors"));
    }

    /// Loads a CLIP vision tower from an HF CLIPModel or CLIPVisionModel directory (text tower ignored).
    public static ClipVisionModel LoadClipVision(string dir, Device? device = null, ScalarType? dtype = null)
    {
        var root = ReadConfig(dir);
        var j = root["vision_config"] ?? root;
        string src = Path.Combine(dir, "config.json");
        int I(string k) => j[k]?.GetValue<int>() ?? throw new InvalidDataException($"{src}: missing vision key '{k}'");
        var config = new ClipVisionConfig(I("hidden_size"), I("intermediate_size"), I("num_hidden_layers"), I("num_attention_heads"),
            I("image_size"), I("patch_size"), j["num_channels"]?.GetValue<int>() ?? 3, j["layer_norm_eps"]?.GetValue<double>() ?? 1e-5);
        var model = WithDefaultDtype(dtype, () => new ClipVisionModel(config, device));
        Checkpoint.Load(model, dir, HfNames.FromHfClipVision);
        return model;
    }

    public static JsonNode ReadConfig(string dir)
    {
        var path = Path.Combine(dir, "config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"Pretrained: no config.json in '{dir}'", path);
        return JsonNode.Parse(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty JSON");
    }

    static T WithDefaultDtype<T>(ScalarType? dtype, Func<T> build)
    {
        if (dtype is not ScalarType dt) return build();
        var old = get_default_dtype();
        set_default_dtype(dt);
        try { return build(); } finally { set_default_dtype(old); }
    }
}
