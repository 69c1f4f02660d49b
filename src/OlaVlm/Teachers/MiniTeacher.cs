using System.Security.Cryptography;
using System.Text.Json.Nodes;
using OlaVlm.Core;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// What the three mini teachers share: an encoder whose output IS the target embedding, and a head that
/// reads only that embedding to predict the teacher's label (depth / classes / pixels). Because the head
/// is trained on the target itself, the target must carry the label, and `Decode` is simply the head —
/// it turns any target-shaped embedding (e.g. one predicted by an LLM layer) back into a picture.
///
/// A teacher is frozen (eval mode, requires_grad false) except inside TeacherTrainer.Train.
public abstract class MiniTeacher : nn.Module, ITeacher
{
    public TeacherConfig Config { get; }
    public TeacherKind Kind => Config.Kind;
    public string Name => Config.DisplayName;
    public Device Device { get; private set; } = CPU;
    public abstract long[] TargetShape { get; }

    /// Seeds torch before the subclass builds its layers, so Config.Seed fixes the initial weights.
    protected MiniTeacher(TeacherConfig config, string name) : base(name)
    {
        Config = config;
        manual_seed(config.Seed);
    }

    /// Subclasses call this last in their constructor.
    protected void Init(Device? device)
    {
        RegisterComponents();
        ResetNorms(this);
        Device = device ?? Devices.Default;
        this.to(Device);
        Freeze();
    }

    /// Sets every GroupNorm / LayerNorm to weight 1, bias 0. Why: TorchSharp 0.107's GroupNorm leaves its
    /// affine parameters UNINITIALISED (garbage, sometimes NaN), which broke seeding and training.
    public static void ResetNorms(nn.Module module)
    {
        using var _ = no_grad();
        foreach (var (_, m) in module.named_modules())
            if (m is TorchSharp.Modules.GroupNorm or TorchSharp.Modules.LayerNorm)
                foreach (var (name, p) in m.named_parameters(recurse: false))
                    if (name == "weight") p.fill_(1); else if (name == "bias") p.zero_();
    }

    /// images on Device → target [B, tokens, dim], differentiable (training path).
    public abstract Tensor Target(Tensor images);
    /// target → the head's raw output (log-depth [B,H,W], class logits [B,K,H,W], pixels [B,3,H,W]).
    public abstract Tensor Head(Tensor target);
    /// Head output → the picture Decode returns (e.g. log-depth → depth). Identity by default.
    protected virtual Tensor Picture(Tensor headOutput) => headOutput;
    /// Training loss on one batch (labels of this teacher's kind must be present).
    public abstract Tensor Loss(TeacherBatch batch);
    /// The kind's metrics, given all val pictures (Decode outputs, on CPU) and the val data.
    protected abstract TeacherScore Score(Tensor pictures, TeacherData val);

    public Tensor Encode(Tensor images)
    {
        Checked.Shape(images, [-1, 3, Config.ImageSize, Config.ImageSize], $"{Name}.Encode images");
        eval();
        using var _ = no_grad();
        return Target(images.to(float32).to(Device)).detach();
    }

    public Tensor? Decode(Tensor embedding)
    {
        Checked.Shape(embedding, [-1, TargetShape[0], TargetShape[1]], $"{Name}.Decode embedding");
        eval();
        using var _ = no_grad();
        return Picture(Head(embedding.to(float32).to(Device))).detach();
    }

    /// Metrics on held-out data, in batches (eval mode, no grad).
    public TeacherScore Evaluate(TeacherData val, int batchSize = 64)
    {
        var pictures = new List<Tensor>();
        for (long s = 0; s < val.Count; s += batchSize)
        {
            using var scope = NewDisposeScope();
            var b = val.Slice(s, Math.Min(batchSize, val.Count - s), Device);
            pictures.Add(Decode(Encode(b.Images))!.cpu().MoveToOuterDisposeScope());
        }
        using var all = cat(pictures, 0);
        foreach (var p in pictures) p.Dispose();
        return Score(all, val);
    }

    public void Freeze()
    {
        foreach (var p in parameters()) p.requires_grad = false;
        eval();
    }

    public void Unfreeze()
    {
        foreach (var p in parameters()) p.requires_grad = true;
        train();
        _hash = null;
    }

    public string WeightsHash => _hash ??= ComputeHash();
    string? _hash;

    string ComputeHash()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{Kind}\n{Config.ToJson()}\n"));
        foreach (var (name, t) in state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{name}:{Checked.Fmt(t.shape)}:{t.dtype};"));
            using var c = t.detach().cpu().contiguous();
            sha.AppendData(c.bytes);
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    /// Writes `path` (.safetensors weights) and the JSON beside it (kind, config, weights hash, + `extra`).
    public void Save(string path, JsonObject? extra = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = Core.TempFiles.Beside(path);   // written beside and renamed: a kill leaves no half file under the name
        this.save_safetensors(temp);
        File.Move(temp, path, overwrite: true);
        var json = extra?.DeepClone().AsObject() ?? new JsonObject();
        json["kind"] = Kind.ToString();
        json["config"] = JsonNode.Parse(Config.ToJson());
        json["weightsHash"] = WeightsHash;
        Training.AtomicFile.WriteText(ConfigPath(path), json.ToJsonString(new() { WriteIndented = true }));
    }

    public static string ConfigPath(string weightsPath) => Path.ChangeExtension(weightsPath, ".json");

    /// Rebuilds the teacher from the JSON beside `path` and loads its weights; checks the weights hash.
    public static MiniTeacher Load(string path, Device? device = null)
    {
        var jsonPath = ConfigPath(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"teacher weights not found: {path}", path);
        if (!File.Exists(jsonPath)) throw new FileNotFoundException($"teacher config not found: {jsonPath}", jsonPath);
        JsonObject json;
        TeacherKind kind;
        TeacherConfig config;
        try
        {
            json = Model.ConfigJson.Parse(jsonPath).AsObject();
            kind = Enum.Parse<TeacherKind>(json["kind"]?.GetValue<string>() ?? throw new InvalidDataException("no 'kind'"));
            config = TeacherConfig.FromJson(kind, json["config"]?.ToJsonString() ?? throw new InvalidDataException("no 'config'"));
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or ArgumentException or FormatException or InvalidDataException)
        { throw new InvalidDataException($"teacher config {jsonPath} is unreadable: {e.Message}", e); }
        Model.SafetensorsHeader.Check(path);
        var teacher = Create(config, device);
        try { teacher.load_safetensors(path); }
        catch (Exception e) { teacher.Dispose(); throw new InvalidDataException($"{path}: cannot load {kind} teacher weights: {e.Message}", e); }
        teacher.Freeze();
        teacher._hash = null;
        var expected = json["weightsHash"]?.GetValue<string>();
        if (expected is not null && expected != teacher.WeightsHash)
        {
            teacher.Dispose();
            throw new InvalidDataException($"{path}: weights hash {teacher.WeightsHash[..12]}… differs from {expected[..Math.Min(12, expected.Length)]}… recorded in {jsonPath}");
        }
        return teacher;
    }

    /// A fresh (untrained, frozen) teacher of the config's kind.
    public static MiniTeacher Create(TeacherConfig config, Device? device = null) => config switch
    {
        DepthTeacherConfig d => new DepthTeacher(d, device),
        SegTeacherConfig s => new SegTeacher(s, device),
        GenTeacherConfig g => new GenTeacher(g, device),
        _ => throw new ArgumentException($"no mini teacher for config type {config.GetType().Name}"),
    };
}
