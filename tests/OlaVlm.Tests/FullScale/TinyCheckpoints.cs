using System.Diagnostics;
using System.Text.Json.Nodes;
using OlaVlm.Model;
using static TorchSharp.torch;

namespace OlaVlm.Tests.FullScale;

/// Where a tiny full-scale run reads everything from: random checkpoints in each released layout and the hand-made
/// dataset samples (Fixtures/Datasets: LLaVA-558K, the 665K mix, CV-Bench).
public sealed record TinyInputs(string Llm, string Vision, string Dav2, string OneFormer, string UnClip, string PtData, string IftData, string CvBench)
{
    /// The command line options for OlaCheck fullscale.
    public string[] Args(string outDir) =>
    [
        "--llm", Llm, "--vision", Vision, "--dav2", Dav2, "--oneformer", OneFormer, "--unclip", UnClip,
        "--pt-data", PtData, "--ift-data", IftData, "--cvbench", CvBench, "--out", outDir, "dav2-encoder=tiny",
    ];
}

/// Tiny random checkpoints in the released layouts, written once per test process:
///   llm/     a Phi-3 folder as microsoft/Phi-3-mini-4k-instruct lays it out (config.json, model.safetensors with fused
///            qkv_proj / gate_up_proj, tokenizer.model + tokenizer_config.json) at hidden 32, 2 layers, Phi-3's 32,064
///            vocabulary (the Llama-2 SentencePiece model with Phi-3's added tokens, Fixtures/Llm/phi3_tokenizer);
///   clip/    an HF CLIPVisionModel folder at 336² / patch 14 (Fixtures/Llm/clip_vit_336) with openai's
///            preprocessor_config.json rule (shortest edge 336, crop 336);
///   the teachers' fixtures as released: Depth-Anything-V2's .pth (the "tiny" encoder), a OneFormer folder
///   (config.json with backbone_config, model.safetensors, preprocessor_config.json) and the unCLIP pipeline's
///   image_encoder/ + feature_extractor/.
static class TinyCheckpoints
{
    static readonly Lazy<TinyInputs> Shared = new(() => Write(TestFiles.TempDir("fullscale", "inputs")));

    public static TinyInputs Inputs => Shared.Value;

    public static LlamaConfig Phi3Tiny => new(32064, 32, 64, 2, 4, 4, RopeTheta: 10000.0, RmsNormEps: 1e-5, TieWordEmbeddings: false,
        MaxPositionEmbeddings: 4096, BosTokenId: 1, EosTokenId: 32000, SlidingWindow: 2047, ModelType: "phi3");

    public static TinyInputs Write(string root)
    {
        var llm = Path.Combine(root, "llm");
        manual_seed(7);
        using (var lm = new LlamaForCausalLM(Phi3Tiny, CPU)) Pretrained.SaveLlama(lm, llm);
        foreach (var f in new[] { "tokenizer.model", "tokenizer_config.json" })
            File.Copy(TestFiles.Fixture("Llm", "phi3_tokenizer", f), Path.Combine(llm, f));

        var clip = Copy(TestFiles.Fixture("Llm", "clip_vit_336"), Path.Combine(root, "clip"), "config.json", "model.safetensors");
        File.WriteAllText(Path.Combine(clip, "preprocessor_config.json"), new JsonObject
        {
            ["crop_size"] = 336, ["do_center_crop"] = true, ["do_normalize"] = true, ["do_resize"] = true, ["resample"] = 3, ["size"] = 336,
            ["image_mean"] = new JsonArray(0.48145466, 0.4578275, 0.40821073), ["image_std"] = new JsonArray(0.26862954, 0.26130258, 0.27577711),
        }.ToJsonString());

        var dav2 = Path.Combine(root, "depth_anything_v2_tiny.pth");
        File.Copy(TestFiles.Fixture("Teachers", "dav2", "tiny_dav2.pth"), dav2);
        var oneformer = Copy(TestFiles.Fixture("Teachers", "oneformer", "tiny"), Path.Combine(root, "oneformer"), "config.json", "model.safetensors", "preprocessor_config.json");
        var unclip = Path.Combine(root, "unclip");
        Copy(TestFiles.Fixture("Teachers", "unclip", "image_encoder"), Path.Combine(unclip, "image_encoder"), "config.json", "model.safetensors");
        Copy(TestFiles.Fixture("Teachers", "unclip", "feature_extractor"), Path.Combine(unclip, "feature_extractor"), "preprocessor_config.json");

        string Data(string layout) => TestFiles.Fixture("Datasets", layout);
        return new(llm, clip, dav2, oneformer, unclip, Data("llava-pretrain-558k"), Data("llava-mix665k"), Data("cv-bench"));
    }

    static string Copy(string from, string to, params string[] files)
    {
        Directory.CreateDirectory(to);
        foreach (var f in files) File.Copy(Path.Combine(from, f), Path.Combine(to, f));
        return to;
    }

    /// OlaCheck.dll as the build left it (the test project builds it without referencing it).
    public static string OlaCheckDll
    {
        get
        {
            var bin = Path.Combine(Core.Paths.RepoRoot, "src", "OlaCheck", "bin");
            var dlls = Directory.Exists(bin) ? Directory.GetFiles(bin, "OlaCheck.dll", SearchOption.AllDirectories) : [];
            return dlls.OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault() ?? throw new FileNotFoundException($"OlaCheck.dll not built under {bin}");
        }
    }

    /// Runs `OlaCheck fullscale …` as a child process; its exit code and everything it printed.
    public static (int ExitCode, string Output) RunCommand(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet", [OlaCheckDll, "fullscale", .. args])
            { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Core.Paths.RepoRoot };
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException("OlaCheck fullscale ran over 5 minutes:\n" + o.Result); }
        return (p.ExitCode, o.Result + e.Result);
    }
}
