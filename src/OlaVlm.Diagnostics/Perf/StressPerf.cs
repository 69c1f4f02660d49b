using System.Diagnostics;
using OlaVlm.Data;
using OlaVlm.Foundation;
using OlaVlm.Ola;
using OlaVlm.Teachers;
using OlaVlm.Training;
using OlaVlm.World;
using static TorchSharp.torch;

namespace OlaVlm.Diagnostics;

/// The issue-9 stress test, printed rather than asserted: thousands of forward passes of each mini teacher
/// (batches of 64 PT images, as the target cache runs them) and hundreds of PT steps (forward + backward,
/// no update, so every pass sees the same weights) of both arms, once with the library's oneDNN guard and
/// once with oneDNN forced on. Prints the non-finite outputs of each (the guarded column must be 0) and the
/// median time per pass.
public static class StressPerf
{
    /// Mode: "guard" (the library's decision, OneDnn.Apply) or "oneDNN forced on" (shown only when the guard
    /// turned oneDNN off, i.e. the run without the fix).
    public sealed record Row(string What, string Mode, int Passes, int NonFinite, double MedianMs)
    {
        public bool Guarded => Mode.StartsWith("guard", StringComparison.Ordinal);
    }

    public static IReadOnlyList<Row> Run(int teacherPasses = 2000, int ptPasses = 300, TextWriter? log = null, Device? device = null)
    {
        log ??= Console.Out;
        device ??= Core.Devices.Default;
        var world = OlaVlm.World.MiniWorld.Build(WorldConfig.Quick);
        // Trained teachers, as in the main job (the fault was first seen on trained weights; it also hits random ones).
        var stored = WorldTeachers.LoadOrTrain(world, new TeacherTrainConfig { Steps = 30 }, trainLimit: 120, device: device);
        var teachers = stored.Select(s => (ITeacher)s.Teacher).ToList();
        var pt = LlavaDataset.Load(world.PtJson);
        using var bank = ImageBank.Load(pt);
        var targets = WorldTeachers.Cached(teachers, pt, bank, "pt");
        using var mini = FoundationModels.LoadOrTrain(world, FoundationConfig.Quick, device);
        var parts = FoundationParts.From(mini, device);
        var data = new ConversationStageData(new ConversationData(pt, parts.Tokenizer, parts.Template), parts.Tokenizer.ImageId);
        bool guarded = Core.OneDnn.Enabled;
        log.WriteLine($"{Core.OneDnn.Apply()}; {Core.Devices.Describe(device)}");
        var modes = new List<(string Label, bool OneDnn)> { ($"guard (oneDNN {(guarded ? "on" : "off")})", guarded) };
        if (!guarded) modes.Add(("oneDNN forced on", true));

        var rows = new List<Row>();
        foreach (var (mode, oneDnn) in modes)
            Core.OneDnn.With(oneDnn, () =>
            {
                foreach (var t in teachers)
                    rows.Add(Measure($"{t.Name} encode ×64", mode, teacherPasses, i =>
                    {
                        int start = i * 64 % Math.Max(1, bank.Count - 63);
                        var x = bank.Pixels(Enumerable.Range(start, Math.Min(64, bank.Count)).ToList(), device, WorldTeachers.TeacherNorm);
                        return t.Encode(x);
                    }));
                foreach (var (name, ola) in new[] { ("LLaVA-1.5", (OlaConfig?)null), ("OLA-VLM", OlaConfig.Miniature.ForTeachers(targets)) })
                {
                    var model = OlaVlmModel.Create(parts.NewLlava(0, device), ola);
                    var cfg = StageConfig.QuickPretrain;
                    Stage.Prepare(model, cfg);
                    model.train();
                    bool emb = Stage.EmbeddingLossOn(model, cfg);
                    rows.Add(Measure($"{name} PT step (fwd+bwd) ×{cfg.BatchSize}", mode, ptPasses, i =>
                    {
                        model.zero_grad();
                        var batch = data.Batch(cfg.Seed, i, cfg.BatchSize, device);
                        var loss = Stage.Loss(model, batch, targets, emb).Loss;
                        loss.backward();
                        var grads = model.parameters().Where(p => p.grad is not null).Select(p => p.grad!.norm().unsqueeze(0)).ToList();
                        return cat([loss.detach().reshape(1), .. grads]);
                    }));
                    model.Dispose();
                }
                return 0;
            });
        foreach (var t in targets.Values) t.Dispose();
        foreach (var s in stored) s.Teacher.Dispose();

        log.WriteLine($"{"pass",-36} {"mode",-20} {"passes",7} {"non-finite",10} {"ms/pass",9}");
        foreach (var r in rows)
            log.WriteLine($"{r.What,-36} {r.Mode,-20} {r.Passes,7} {r.NonFinite,10} {r.MedianMs,9:F2}");
        return rows;
    }

    /// Runs `pass` `passes` times (each in a DisposeScope) and counts outputs holding a NaN or ±Inf.
    static Row Measure(string what, string mode, int passes, Func<int, Tensor> pass)
    {
        int bad = 0;
        var ms = new double[passes];
        for (int i = 0; i < passes; i++)
        {
            using var scope = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            var y = pass(i);
            bool finite = y.isfinite().all().item<bool>();
            ms[i] = sw.Elapsed.TotalMilliseconds;
            if (!finite) bad++;
        }
        Array.Sort(ms);
        return new Row(what, mode, passes, bad, ms[passes / 2]);
    }
}
