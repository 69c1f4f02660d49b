using System.IO.Compression;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace OlaVlm.Tests.FaultInjection;

/// Each reader of outside files, given damaged input, fails with an error that names the file (and the key, record
/// or line), or reads it whole: never a bare EndOfStreamException or JsonException, never a silent substitute.
public class LoaderDamageTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("fault-loaders").FullName;
    public void Dispose() => Directory.Delete(_dir, true);
    string At(string name) => Path.Combine(_dir, name);

    static Dictionary<string, Tensor> StateDict() => new()
    {
        ["a.weight"] = arange(12, dtype: float32).reshape(3, 4), ["b.bias"] = ones(5), ["c"] = full(7, 2.5f),
    };

    string WriteSafetensors(string name, Dictionary<string, Tensor>? sd = null)
    {
        var path = At(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (var s = File.Create(path)) Safetensors.SaveStateDict(s, sd ?? StateDict());
        return path;
    }

    /// A safetensors file written by hand: `header` JSON, then `dataBytes` bytes.
    string Raw(string name, string header, int dataBytes)
    {
        var path = At(name);
        var h = Encoding.UTF8.GetBytes(header);
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes((ulong)h.Length));
        f.Write(h);
        f.Write(new byte[dataBytes]);
        return path;
    }

    static void NamesFile(string path, Action read, string? also = null)
    {
        var e = Assert.ThrowsAny<Exception>(read);
        Assert.True(e is InvalidDataException or IOException or FormatException or CheckpointMismatchException,
                    $"{e.GetType().Name}: {e.Message}");
        Assert.Contains(Path.GetFileName(path), e.Message);
        if (also is not null) Assert.Contains(also, e.Message);
    }

    [Fact]
    public void Safetensors_truncated_or_with_a_damaged_header_is_refused_naming_the_file()
    {
        foreach (var fraction in new[] { 0.0, 0.01, 0.5, 0.99 })
        {
            var p = WriteSafetensors($"t{fraction}.safetensors");
            Damage.Truncate(p, fraction);
            NamesFile(p, () => Checkpoint.Read(p));
        }
        // Every third byte of the header flipped in turn: an error naming the file (a changed name: the strict load's),
        // or, where the byte is one nothing reads (metadata), the same tensors.
        var good = WriteSafetensors("h.safetensors");
        int n = (int)BitConverter.ToUInt64(File.ReadAllBytes(good), 0);
        int named = 0;
        for (int i = 0; i < 8 + n; i += 3)
        {
            var p = WriteSafetensors($"h{i}.safetensors");
            Damage.Flip(p, i);
            using var m = new Tiny3();
            try { Checkpoint.Load(m, p); Assert.Equal(2.5f, m.state_dict()["c"][0].item<float>()); }
            catch (Exception e) when (e is InvalidDataException or CheckpointMismatchException or IOException)
            { Assert.Contains(Path.GetFileName(p), e.Message); named++; }
        }
        Assert.True(named > n / 6, $"{named} of {(8 + n) / 3} header flips refused");
    }

    [Fact]
    public void Safetensors_with_aliased_or_out_of_range_entries_is_refused()
    {
        var alias = Raw("alias.safetensors", """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12);
        NamesFile(alias, () => Checkpoint.Read(alias), "share bytes");
        var same = Raw("same.safetensors", """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8);
        NamesFile(same, () => Checkpoint.Read(same), "share bytes");
        var past = Raw("past.safetensors", """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 8);
        NamesFile(past, () => Checkpoint.Read(past), "'y'");
        var typed = Raw("typed.safetensors", """{"x":{"dtype":"F32","shape":"two","data_offsets":[0,8]}}""", 8);
        NamesFile(typed, () => Checkpoint.Read(typed), "'x'");
        var bad = Raw("bad.safetensors", """{"x":{"dtype":"F32",""", 8);
        NamesFile(bad, () => Checkpoint.Read(bad));
        var ok = Raw("ok.safetensors", """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 16);
        Assert.Equal(2, Checkpoint.Read(ok).Count);
    }

    [Fact]
    public void Pickle_truncated_damaged_or_with_a_forbidden_global_is_refused_naming_the_file_and_runs_nothing()
    {
        var good = At("pytorch_model.bin");
        PyTorchPickler.PickleStateDict(good, StateDict());
        foreach (var fraction in new[] { 0.1, 0.5, 0.9 })
        {
            var p = At($"t{fraction}.bin");
            File.Copy(good, p);
            Damage.Truncate(p, fraction);
            NamesFile(p, () => Checkpoint.Read(p));
        }
        // A torch.save zip whose pickle calls os.system: refused by name, and the command never runs.
        var marker = At("pwned");
        var evil = At("evil.pth");
        using (var zip = ZipFile.Open(evil, ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("archive/data.pkl").Open())
        {
            var cmd = Encoding.ASCII.GetBytes($"touch {marker}");
            s.Write([0x80, 0x02]); s.Write(Encoding.ASCII.GetBytes("cos\nsystem\n"));
            s.WriteByte(0x58); s.Write(BitConverter.GetBytes(cmd.Length)); s.Write(cmd);
            s.Write([0x85, 0x52, 0x2E]);   // TUPLE1 REDUCE STOP
        }
        NamesFile(evil, () => Checkpoint.Read(evil));
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void Shard_index_damaged_or_pointing_outside_the_model_folder_is_refused()
    {
        var model = At("model");
        WriteSafetensors("model/model-00001-of-00001.safetensors");
        WriteSafetensors("other/model.safetensors");
        var index = Path.Combine(model, "model.safetensors.index.json");
        File.WriteAllText(index, """{"metadata": {}, "weight_map": {"a.weight": "../other/model.safetensors"}}""");
        NamesFile(index, () => Checkpoint.Read(model), "a.weight");
        File.WriteAllText(index, """{"weight_map": {"a.weight": "model-00001-of-00001.safetensors", "c": "model-00001-of-00001.safetensors"}}""");
        Assert.Equal(3, Checkpoint.Read(model).Count);
        Damage.Truncate(index);
        NamesFile(index, () => Checkpoint.Read(model));
        File.WriteAllText(index, """{"weight_map": {"a.weight": 7}}""");
        NamesFile(index, () => Checkpoint.Read(model), "a.weight");
    }

    [Fact]
    public void Config_json_truncated_wrong_typed_or_zero_names_the_file_and_key()
    {
        var dir = At("llama");
        Directory.CreateDirectory(dir);
        var good = new LlamaConfig(40, HiddenSize: 32, IntermediateSize: 64, NumLayers: 2, NumHeads: 4, NumKvHeads: 2).ToHfJson();
        var path = Path.Combine(dir, "config.json");
        LlamaConfig Read() => LlamaConfig.FromHfJson(Pretrained.ReadConfig(dir), path);
        File.WriteAllText(path, good.ToJsonString());
        Assert.Equal(32, Read().HiddenSize);
        Damage.Truncate(path);
        NamesFile(path, () => Read(), "line");
        foreach (var (key, value, want) in new[] { ("hidden_size", "\"32\"", "hidden_size"), ("num_attention_heads", "0", "num_attention_heads"),
                                                   ("rms_norm_eps", "\"x\"", "rms_norm_eps"), ("tie_word_embeddings", "1", "tie_word_embeddings") })
        {
            var j = good.DeepClone().AsObject();
            j[key] = System.Text.Json.Nodes.JsonNode.Parse(value);
            File.WriteAllText(path, j.ToJsonString());
            NamesFile(path, () => Read(), want);
        }
    }

    /// The JSON readers outside config.json (LoRA's adapter_config.json, which tokenizer a folder holds, SentencePiece's
    /// tokenizer_config.json, the word tokenizer, ConvNeXt's open_clip_config.json): each reads through Core.JsonFile,
    /// so a truncated file or one with invalid UTF-8 names the file (and the line), not a bare JsonException.
    [Fact]
    public void Every_other_json_reader_names_the_file_of_a_truncated_or_not_utf8_file()
    {
        string Folder(string name, params (string File, string Text)[] files)
        {
            var dir = At(name);
            Directory.CreateDirectory(dir);
            foreach (var (f, text) in files) File.WriteAllText(Path.Combine(dir, f), text);
            return dir;
        }
        var lora = Folder("lora", ("adapter_config.json", """{"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj"]}"""));
        var tok = Folder("tok", ("config.json", """{"model_type": "llama", "vocab_size": 40}"""));
        var sp = Folder("sp", ("tokenizer.model", "not read before the config"), ("tokenizer_config.json", """{"bos_token": "<s>", "eos_token": "</s>"}"""));
        var words = Folder("words", ("tokenizer.json", """{"vocab": ["<pad>", "<bos>", "<eos>", "<unk>", "<image>", "cube"], "scheme": 3}"""));
        var conv = Folder("convnext", ("open_clip_config.json", """{"model_cfg": {"vision_cfg": {"timm_model_name": "convnext_xxlarge"}}}"""),
                          (ConvNextPretrained.SafetensorsFile, ""));
        var cases = new (string File, Action Read)[]
        {
            (Path.Combine(lora, "adapter_config.json"), () => LoraCheckpoint.ReadConfig(lora)),
            (Path.Combine(tok, "config.json"), () => OlaVlm.Text.PretrainedTokenizer.Load(tok)),
            (Path.Combine(sp, "tokenizer_config.json"), () => OlaVlm.Text.SentencePieceTextTokenizer.Load(sp)),
            (Path.Combine(words, "tokenizer.json"), () => OlaVlm.Text.WordTokenizer.Load(Path.Combine(words, "tokenizer.json"))),
            (Path.Combine(conv, "open_clip_config.json"), () => ConvNextPretrained.ResolveFile(conv, ConvNextConfig.XXLarge())),
        };
        ConvNextPretrained.ResolveFile(conv, ConvNextConfig.XXLarge());   // the intact folder passes its check
        OlaVlm.Text.WordTokenizer.Load(Path.Combine(words, "tokenizer.json"));
        foreach (var (file, read) in cases)
        {
            var intact = File.ReadAllBytes(file);
            Damage.Truncate(file);
            NamesFile(file, read, "not valid JSON");
            File.WriteAllBytes(file, intact);
            Damage.Flip(file, intact.Length / 2, (byte)(0x80 | intact[intact.Length / 2]));   // a byte ≥ 0x80 alone is not UTF-8
            NamesFile(file, read, "invalid UTF-8");
            File.WriteAllBytes(file, intact);
        }
    }

    const string Record = """{"id": "r1", "image": "x.png", "conversations": [{"from": "human", "value": "<image>\nWhat?"}, {"from": "gpt", "value": "A cube."}]}""";

    [Fact]
    public void Llava_json_truncated_or_not_utf8_names_file_and_line_and_a_missing_image_is_skipped_and_counted()
    {
        new Image<Rgb24>(4, 4).SaveAsPng(At("x.png"));
        var path = At("data.json");
        File.WriteAllText(path, $"[\n{Record},\n{Record.Replace("r1", "r2").Replace("x.png", "gone.png")}\n]");
        var skipped = LlavaDataset.Load(path, policy: MalformedRecordPolicy.SkipAndReport);
        Assert.Equal(["r1"], skipped.Records.Select(r => r.Id));
        var skip = Assert.Single(skipped.Skipped);
        Assert.Equal("r2", skip.Id);
        Assert.Contains("gone.png", skip.Reason);
        // Under Throw the missing image fails where it is read, naming the record as well as the file.
        var strict = LlavaDataset.Load(path);
        var e = Assert.Throws<ImageLoadException>(() => ImageBank.Load(strict));
        Assert.Contains("record r2", e.Message); Assert.Contains("gone.png", e.Message);

        var bytes = File.ReadAllBytes(path);
        int at = Array.IndexOf(bytes, (byte)'A');   // in "A cube." on line 2
        bytes[at] = 0xC3; bytes[at + 1] = 0x28;     // an invalid two-byte sequence
        File.WriteAllBytes(path, bytes);
        var u = Assert.Throws<LlavaFormatException>(() => LlavaDataset.Load(path));
        Assert.Contains("data.json", u.Message); Assert.Contains("line 2", u.Message); Assert.Contains("UTF-8", u.Message);
        File.WriteAllText(path, $"[\n{Record},\n{Record}\n]");
        Damage.Truncate(path, 0.7);
        var t = Assert.Throws<LlavaFormatException>(() => LlavaDataset.Load(path));
        Assert.Contains("data.json", t.Message); Assert.Contains("line", t.Message);
    }

    const string Item = """{"idx": 0, "type": "2D", "task": "Count", "question": "How many?", "choices": ["1", "2"], "answer": "(A)", "prompt": "How many? (A) 1 (B) 2", "filename": "img/0.png", "source": "ADE20K"}""";

    [Fact]
    public void Cv_bench_truncated_not_utf8_or_with_a_string_idx_names_file_and_line()
    {
        var path = At("test.jsonl");
        File.WriteAllText(path, Item + "\n" + Item.Replace("\"idx\": 0", "\"idx\": 1") + "\n");
        Assert.Equal(2, CvBench.Load(path).Count);
        File.WriteAllText(path, Item + "\n" + Item.Replace("\"idx\": 0", "\"idx\": \"1\"") + "\n");
        var e = Assert.Throws<CvBenchFormatException>(() => CvBench.Load(path));
        Assert.Contains("test.jsonl", e.Message); Assert.Contains("line 2", e.Message); Assert.Contains("idx", e.Message);

        var bytes = Encoding.UTF8.GetBytes(Item + "\n" + Item.Replace("\"idx\": 0", "\"idx\": 1") + "\n");
        int at = Array.LastIndexOf(bytes, (byte)'H');   // "How many?" of line 2
        bytes[at] = 0xFF;
        File.WriteAllBytes(path, bytes);
        var u = Assert.Throws<CvBenchFormatException>(() => CvBench.Load(path));
        Assert.Contains("line 2", u.Message); Assert.Contains("UTF-8", u.Message);

        File.WriteAllText(path, Item + "\n" + Item.Replace("\"idx\": 0", "\"idx\": 1") + "\n");
        Damage.Truncate(path, 0.75);
        var t = Assert.Throws<CvBenchFormatException>(() => CvBench.Load(path));
        Assert.Contains("line 2", t.Message);
    }

    [Fact]
    public void Image_truncated_or_with_flipped_bytes_names_the_file_or_reads_the_same_pixels()
    {
        var good = At("scene.png");
        using (var img = new Image<Rgb24>(16, 16))
        {
            for (int y = 0; y < 16; y++) for (int x = 0; x < 16; x++) img[x, y] = new Rgb24((byte)(x * 16), (byte)(y * 16), (byte)(x ^ y));
            img.SaveAsPng(good);
        }
        byte[] Pixels(string p) { using var i = ImageLoader.Load(p); var b = new byte[16 * 16 * 3]; i.CopyPixelDataTo(b); return b; }
        var want = Pixels(good);
        var p = At("damaged.png");
        File.Copy(good, p);
        Damage.Truncate(p);
        NamesFile(p, () => Pixels(p));
        int named = 0, same = 0;
        for (int seed = 0; seed < 40; seed++)
        {
            File.Copy(good, p, overwrite: true);
            Damage.FlipRandom(p, seed);
            try { Assert.Equal(want, Pixels(p)); same++; }   // a flip in an ancillary byte the decoder does not read
            catch (ImageLoadException e) { Assert.Contains("damaged.png", e.Message); named++; }
        }
        Assert.True(named > 0);
    }

    /// Holds "a.weight" [3, 4], "b.bias" [5] and "c" [7]: the keys StateDict writes.
    sealed class Tiny3 : nn.Module
    {
        readonly Leaf a = new("weight", [3, 4]), b = new("bias", [5]);
        public Tiny3() : base("tiny3")
        {
            register_parameter("c", new TorchSharp.Modules.Parameter(zeros(7)));
            RegisterComponents();
        }
    }

    sealed class Leaf : nn.Module
    {
        public Leaf(string name, long[] shape) : base("leaf") => register_parameter(name, new TorchSharp.Modules.Parameter(zeros(shape)));
    }
}
