using System.Diagnostics;
using System.Text.Json.Nodes;
using OlaVlm.Model;

namespace OlaVlm.Foundation;

/// One side of the comparison (samples/s of the PT step).
public sealed record PeerFigure(string Impl, double SamplesPerSecond, string Detail);

/// C# vs PyTorch on the same PT step (ModelBenchmarks.PtStepThroughput: frozen 4-layer d=256 decoder,
/// T=128, B=16, only the projector learns) in the same run. The PyTorch side is
/// environment/bench/pt_step_pytorch.py, run with the system python (/usr/bin/python3) when it can
/// `import torch`; otherwise it says how to install it. Figures are printed, never asserted.
public static class PeerBenchmark
{
    public const string Python = "/usr/bin/python3";
    public const string Install = "apt-get install --no-install-recommends python3-torch libopenblas0-pthread";
    public static string Script => Path.Combine(Core.Paths.RepoRoot, "environment", "bench", "pt_step_pytorch.py");

    /// Runs both; returns (C# fp32, PyTorch or null, PyTorch / C# ratio or null).
    /// threads: intra-op threads for both sides (null: each library's default; they differ, so say it).
    public static (PeerFigure CSharp, PeerFigure? PyTorch, double? Ratio) Compare(int steps = 5, int batch = 16, int seqLen = 128,
        int? threads = null, Action<string>? log = null)
    {
        log ??= Console.WriteLine;
        int before = TorchSharp.torch.get_num_threads();
        if (threads is int n) TorchSharp.torch.set_num_threads(n);
        List<(string DType, double SamplesPerSecond)> rows;
        try { rows = ModelBenchmarks.PtStepThroughput(steps, batch, seqLen, TorchSharp.torch.CPU, log); }
        finally { if (threads is not null) TorchSharp.torch.set_num_threads(before); }
        var fp32 = rows.First(r => r.DType == "Float32");
        var cs = new PeerFigure("torchsharp", fp32.SamplesPerSecond,
            $"TorchSharp fp32, {threads ?? before} threads, {batch / fp32.SamplesPerSecond:F3} s/step");
        var py = RunPyTorch(steps, batch, seqLen, threads, log);
        double? ratio = py is null ? null : py.SamplesPerSecond / cs.SamplesPerSecond;
        log($"PT step (B={batch}, T={seqLen}, 4 layers, d=256): TorchSharp {cs.SamplesPerSecond:F1} samples/s" +
            (py is null ? "; PyTorch peer unavailable" : $", PyTorch {py.SamplesPerSecond:F1} samples/s ({py.Detail}); PyTorch/TorchSharp = {ratio:F2}"));
        return (cs, py, ratio);
    }

    /// The PyTorch figure, or null (with the reason logged) when python3 or torch is missing.
    public static PeerFigure? RunPyTorch(int steps, int batch, int seqLen, int? threads, Action<string> log)
    {
        if (!File.Exists(Python)) { log($"PyTorch peer unavailable: no {Python}. Install: {Install}"); return null; }
        if (!File.Exists(Script)) { log($"PyTorch peer unavailable: script {Script} not found"); return null; }
        var (rc, probe, _) = Run(Python, ["-c", "import torch; print(torch.__version__)"], TimeSpan.FromSeconds(60));
        if (rc != 0) { log($"PyTorch peer unavailable: {Python} cannot import torch. Install: {Install}"); return null; }
        var (code, stdout, stderr) = Run(Python, [Script, "--steps", steps.ToString(), "--batch", batch.ToString(), "--seq", seqLen.ToString(), "--threads", (threads ?? 0).ToString()],
            TimeSpan.FromMinutes(10));
        if (code != 0) throw new InvalidOperationException($"{Script} exited with {code}: {stderr.Trim()}");
        var line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.TrimStart().StartsWith('{'))
                   ?? throw new InvalidDataException($"{Script}: no JSON line in its output: {stdout}");
        var j = JsonNode.Parse(line) ?? throw new InvalidDataException($"{Script}: bad JSON '{line}'");
        double sps = j["samples_per_s"]?.GetValue<double>() ?? throw new InvalidDataException($"{Script}: no samples_per_s in '{line}'");
        return new PeerFigure("pytorch", sps,
            $"PyTorch {probe.Trim()}, {j["threads"]} threads, {j["sec_per_step"]?.GetValue<double>():F3} s/step");
    }

    static (int Code, string Stdout, string Stderr) Run(string exe, string[] args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {exe}");
        var err = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(timeout)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"{exe} {string.Join(' ', args)} ran over {timeout}"); }
        return (p.ExitCode, stdout, err.Result);
    }
}
