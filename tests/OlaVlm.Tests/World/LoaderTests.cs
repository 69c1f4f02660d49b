using OlaVlm.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace OlaVlm.Tests.World;

public class LoaderTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("world-loaders").FullName;
    public void Dispose() => Directory.Delete(_dir, true);
    string Write(string name, string text) { var p = Path.Combine(_dir, name); File.WriteAllText(p, text); return p; }

    const string Good = """{"id": "a1", "image": "x.png", "conversations": [{"from": "human", "value": "<image>\nHi?"}, {"from": "gpt", "value": "Yes."}]}""";

    [Fact]
    public void LlavaMalformedRecordNamesFileAndRecord()
    {
        var p = Write("bad.json", $$"""[{{Good}}, {"id": "b2", "conversations": [{"from": "gpt", "value": "no"}]}]""");
        var ex = Assert.Throws<LlavaFormatException>(() => LlavaDataset.Load(p));
        Assert.Contains("bad.json", ex.Message); Assert.Contains("record 1", ex.Message); Assert.Contains("b2", ex.Message);

        new Image<Rgb24>(4, 4).SaveAsPng(Path.Combine(_dir, "x.png"));   // SkipAndReport also skips records whose image is missing
        var d = LlavaDataset.Load(p, policy: MalformedRecordPolicy.SkipAndReport);
        Assert.Single(d.Records);
        var skip = Assert.Single(d.Skipped);
        Assert.Equal((1, "b2"), (skip.Index, skip.Id));
        Assert.Equal(1, DatasetStats.Of(d).Skipped);
    }

    [Theory]
    [InlineData("""{"id": 7, "image": "x.png", "conversations": [{"from": "human", "value": "no token"}, {"from": "gpt", "value": "a"}]}""", "exactly one")]
    [InlineData("""{"id": "t", "conversations": [{"from": "human", "value": "<image>\nq"}, {"from": "gpt", "value": "a"}]}""", "first human turn of an image record")]
    [InlineData("""{"id": "t", "conversations": [{"from": "human", "value": "q"}]}""", "no gpt answer")]
    [InlineData("""{"id": "t", "image": "../../etc/x.png", "conversations": [{"from": "human", "value": "<image>q"}, {"from": "gpt", "value": "a"}]}""", "relative path")]
    [InlineData("""{"image": "x.png", "conversations": []}""", "missing 'id'")]
    public void LlavaValidationCatchesEachRule(string record, string expected)
    {
        var ex = Assert.Throws<LlavaFormatException>(() => LlavaDataset.Load(Write("r.json", $"[{record}]")));
        Assert.Contains(expected, ex.Message);
        Assert.Contains("record 0", ex.Message);
    }

    [Fact]
    public void LlavaInvalidJsonAndNumericIds()
    {
        var ex = Assert.Throws<LlavaFormatException>(() => LlavaDataset.Load(Write("broken.json", "[{\"id\": ")));
        Assert.Contains("broken.json", ex.Message);
        var d = LlavaDataset.Load(Write("num.json", $"[{Good.Replace("\"a1\"", "42")}]"));
        Assert.Equal("42", d.Records[0].Id);
        Assert.Equal(Path.Combine(_dir, "x.png"), d.ImagePath(d.Records[0]));
        var missing = Assert.Throws<ImageLoadException>(() => d.LoadImage(d.Records[0]));
        Assert.Contains("num.json' record 42", missing.Message); Assert.Contains("x.png", missing.Message);
    }

    [Fact]
    public void CvBenchLoadsTheRealSchemaWithExtraFields()
    {
        // A line shaped like nyu-visionx/CV-Bench test.jsonl (extra fields, image path in "image").
        var line = """{"idx": 0, "type": "2D", "task": "Count", "image": "img/2D/count/ade10.png", "question": "How many organs are in the image?", "choices": ["3", "2", "1", "0", "4"], "answer": "(C)", "prompt": "How many organs are in the image? Select from the following choices.\n(A) 3\n(B) 2\n(C) 1\n(D) 0\n(E) 4", "filename": "img/2D/count/ade10.png", "source": "ADE20K", "source_dataset": "ADE20K Validation Set", "source_filename": "ADE_val_00000010.jpg", "target_class": "organ", "target_size": 2, "bbox": null}""";
        var p = Write("test.jsonl", line + "\n" + line.Replace("\"idx\": 0", "\"idx\": 1").Replace("[\"3\", \"2\"", "[3, 2") + "\n");
        var items = CvBench.Load(p);
        Assert.Equal(2, items.Count);
        Assert.Equal(2, items[0].AnswerIndex);
        Assert.Equal("3", items[1].Choices[0]);
        Assert.Equal(Path.Combine(_dir, "img", "2D", "count", "ade10.png"), CvBench.ImagePath(p, items[0]));
        var score = OlaVlm.Eval.CvBenchScorer.Score(items, ["(C)", "(A) 3"]);
        Assert.Equal(0.5, score.Accuracy2D);
        Assert.True(double.IsNaN(score.Overall));   // no 3D items: no overall score
    }

    [Theory]
    [InlineData("\"answer\": \"(C)\"", "\"answer\": \"(F)\"", "'answer'")]
    [InlineData("\"type\": \"2D\"", "\"type\": \"4D\"", "'type'")]
    [InlineData("\"prompt\": \"p\", ", "", "missing 'prompt'")]
    public void CvBenchBadLineNamesFileLineAndIdx(string from, string to, string expected)
    {
        var line = """{"idx": 5, "type": "2D", "task": "Count", "question": "q", "choices": ["1", "2", "3"], "answer": "(C)", "prompt": "p", "filename": "img/a.png", "source": "S"}""";
        var p = Write("b.jsonl", "\n" + line.Replace(from, to));
        var ex = Assert.Throws<CvBenchFormatException>(() => CvBench.Load(p));
        Assert.Contains("b.jsonl' line 2 (idx 5)", ex.Message);
        Assert.Contains(expected, ex.Message);
        var escape = line.Replace("img/a.png", "../../secret.png");
        var item = CvBench.Load(Write("c.jsonl", escape))[0];
        Assert.Throws<CvBenchFormatException>(() => CvBench.ImagePath(Path.Combine(_dir, "c.jsonl"), item));
    }

    [Fact]
    public void ImageLoaderRejectsMissingCorruptAndOversizeFiles()
    {
        var missing = Path.Combine(_dir, "none.png");
        Assert.Contains("none.png", Assert.Throws<ImageLoadException>(() => ImageLoader.Load(missing)).Message);

        var corrupt = Path.Combine(_dir, "corrupt.png");
        File.WriteAllBytes(corrupt, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3, 4, 5, 6, 7]);
        Assert.Contains("corrupt.png", Assert.Throws<ImageLoadException>(() => ImageLoader.Load(corrupt)).Message);

        var wide = Path.Combine(_dir, "wide.png");
        using (var img = new Image<Rgb24>(300, 200)) img.SaveAsPng(wide);
        var ex = Assert.Throws<ImageLoadException>(() => ImageLoader.Load(wide, new ImageLimits(MaxWidth: 100)));
        Assert.Contains("wide.png", ex.Message); Assert.Contains("300x200", ex.Message);
        Assert.Throws<ImageLoadException>(() => ImageLoader.Load(wide, new ImageLimits(MaxFileBytes: 10)));
        using var ok = ImageLoader.Load(wide);
        Assert.Equal(300, ok.Width);
    }

    [Fact]
    public void ACraftedHeaderClaimingHugeSizeIsRejectedBeforeDecoding()
    {
        // PNG signature + IHDR of 100000 x 100000 RGB + IEND, no pixel data: decoding would ask for 30 GB.
        var ihdr = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr, 100_000);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), 100_000);
        ihdr[8] = 8; ihdr[9] = 2;
        var bytes = new List<byte> { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A };
        bytes.AddRange(Chunk("IHDR", ihdr)); bytes.AddRange(Chunk("IEND", []));
        var bomb = Path.Combine(_dir, "bomb.png");
        File.WriteAllBytes(bomb, bytes.ToArray());
        var ex = Assert.Throws<ImageLoadException>(() => ImageLoader.Load(bomb));
        Assert.Contains("100000x100000", ex.Message);
    }

    static byte[] Chunk(string type, byte[] data)
    {
        var t = System.Text.Encoding.ASCII.GetBytes(type);
        var outp = new byte[12 + data.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(outp, data.Length);
        t.CopyTo(outp, 4); data.CopyTo(outp, 8);
        uint crc = 0xFFFFFFFF;
        foreach (var b in t.Concat(data))
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(outp.AsSpan(8 + data.Length), ~crc);
        return outp;
    }
}
