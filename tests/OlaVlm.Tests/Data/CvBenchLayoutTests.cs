using OlaVlm.Data.Layouts;
using OlaVlm.World;
using Parquet;
using static OlaVlm.Tests.Data.DatasetFixtures;

namespace OlaVlm.Tests.Data;

/// CV-Bench as released: test.jsonl + img/ and the parquet files with the images inside, from the hand-made sample.
public class CvBenchLayoutTests
{
    static readonly LayoutOptions Skip = new() { Policy = MalformedRecordPolicy.SkipAndReport };

    [Fact]
    public void Jsonl_reads_every_field_of_the_release()
    {
        var (rows, skips) = CvBenchRelease.Load(Root("cv-bench"));
        Assert.Equal(0, skips.Count);
        Assert.Equal(["Count", "Relation", "Depth", "Distance"], rows.Select(r => r.Item.Task));
        Assert.Equal(2, rows[0].Item.AnswerIndex);
        Assert.Equal(("ADE20K Validation Set", "ADE_val_00000001.jpg"), (rows[0].SourceDataset, rows[0].SourceFilename));
        Assert.Equal(("block", 64.0), (rows[1].TargetClass, rows[1].TargetSize!.Value));
        Assert.Null(rows[0].Bbox);
        Assert.Equal([[4.0, 4.0, 12.0, 12.0], [0.0, 0.0, 16.0, 16.0]], rows[2].Bbox!);
        Assert.Equal(3, rows[3].Bbox!.Length);
        Assert.All(rows, r => Assert.True(File.Exists(CvBench.ImagePath(Path.Combine(Root("cv-bench"), "test.jsonl"), r.Item))));
    }

    [Fact]
    public void Split_jsonl_files_of_the_later_release_are_found()
    {
        var root = Copy("cv-bench");
        var lines = File.ReadAllLines(Path.Combine(root, "test.jsonl"));
        File.WriteAllLines(Path.Combine(root, "test_2d.jsonl"), lines.Where(l => l.Contains("\"2D\"")));
        File.WriteAllLines(Path.Combine(root, "test_3d.jsonl"), lines.Where(l => l.Contains("\"3D\"")));
        File.Delete(Path.Combine(root, "test.jsonl"));
        Assert.Equal(2, CvBenchRelease.JsonlFiles(root).Count);
        Assert.Equal([0, 1, 2, 3], CvBenchRelease.Load(root).Rows.Select(r => r.Item.Idx));
    }

    [Fact]
    public async Task Parquet_in_the_released_schema_reads_back_the_jsonl_items_and_the_image_bytes()
    {
        var root = Copy("cv-bench");
        WriteCvBenchParquet(root, rowsPerGroup: 1);
        var jsonl = CvBenchRelease.Load(root).Rows;
        var files = CvBenchParquet.Files(root);
        Assert.Equal(["test_2d.parquet", "test_3d.parquet"], files.Select(Path.GetFileName));
        // The hand-made files carry the released columns, one row per row group here (so groups are walked).
        await using (var s = File.OpenRead(files[0]))
        await using (var reader = await ParquetReader.CreateAsync(s))
        {
            Assert.Equal(CvBenchParquet.ReleasedSchema.Fields.Select(f => f.Name), reader.Schema.Fields.Select(f => f.Name));
            Assert.Equal(2, reader.RowGroupCount);
        }
        var rows = files.SelectMany(f => CvBenchParquet.Read(f)).ToList();
        Assert.Equal(jsonl.Count, rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var (a, b) = (jsonl[i], rows[i].Row);
            Assert.Equal((a.Item.Idx, a.Item.Type, a.Item.Task, a.Item.Question, a.Item.Answer, a.Item.Prompt, a.Item.Filename, a.Item.Source),
                         (b.Item.Idx, b.Item.Type, b.Item.Task, b.Item.Question, b.Item.Answer, b.Item.Prompt, b.Item.Filename, b.Item.Source));
            Assert.Equal(a.Item.Choices, b.Item.Choices);
            Assert.Equal((a.SourceDataset, a.SourceFilename, a.TargetClass, a.TargetSize), (b.SourceDataset, b.SourceFilename, b.TargetClass, b.TargetSize));
            Assert.Equal(a.Bbox, b.Bbox);
            Assert.Equal(File.ReadAllBytes(Path.Combine(root, a.Item.Filename)), rows[i].Image);
        }
    }

    [Fact]
    public void A_row_without_image_bytes_or_with_a_bad_answer_names_file_row_and_idx_or_is_counted()
    {
        var root = Copy("cv-bench");
        WriteCvBenchParquet(root, edit: r =>
        {
            if ((long)r["idx"]! == 1) r["image"] = Image([], "x.png");
            if ((long)r["idx"]! == 2) r["answer"] = "(Z)";
            return r;
        });
        var e = Assert.Throws<CvBenchFormatException>(() => CvBenchParquet.Read(Path.Combine(root, "test_2d.parquet")).ToList());
        Assert.Contains("test_2d.parquet' row 1 (idx 1): 'image' has no bytes", e.Message);
        var e3 = Assert.Throws<CvBenchFormatException>(() => CvBenchParquet.Read(Path.Combine(root, "test_3d.parquet")).ToList());
        Assert.Contains("test_3d.parquet' row 0 (idx 2): 'answer'", e3.Message);
        var skips = new SkipReport("test_2d.parquet");
        Assert.Single(CvBenchParquet.Read(Path.Combine(root, "test_2d.parquet"), Skip, skips));
        Assert.Equal(1, skips.Count);
    }

    [Fact]
    public void A_file_that_is_not_cv_bench_parquet_is_named()
    {
        var root = Copy("cv-bench");
        File.WriteAllText(Path.Combine(root, "test_2d.parquet"), "not parquet");
        var e = Assert.Throws<CvBenchFormatException>(() => CvBenchParquet.Read(Path.Combine(root, "test_2d.parquet")).ToList());
        Assert.Contains("test_2d.parquet': not a readable parquet file", e.Message);
        // A parquet file without the image column is not CV-Bench either.
        using (var s = File.Create(Path.Combine(root, "test_3d.parquet")))
            Parquet.Serialization.ParquetSerializer.SerializeAsync(new[] { new { idx = 1L, type = "3D" } }, s).GetAwaiter().GetResult();
        var m = Assert.Throws<CvBenchFormatException>(() => CvBenchParquet.Read(Path.Combine(root, "test_3d.parquet")).ToList());
        Assert.Contains("missing column(s) task, image, question", m.Message);
    }

    [Fact]
    public void A_missing_image_a_bad_line_or_invalid_utf8_names_the_line_or_is_counted()
    {
        var root = Copy("cv-bench");
        File.Delete(Path.Combine(root, "img", "3D", "depth", "omni3d_1.png"));
        var e = Assert.Throws<CvBenchFormatException>(() => CvBenchRelease.Load(root));
        Assert.Contains("test.jsonl' line 3 (idx 2): image file missing", e.Message);
        var (rows, skips) = CvBenchRelease.Load(root, Skip);
        Assert.Equal((3, 1), (rows.Count, skips.Count));

        var jsonl = Path.Combine(root, "test.jsonl");
        var bytes = File.ReadAllBytes(jsonl);
        int at = bytes.AsSpan().IndexOf("How many blocks"u8);
        bytes[at] = 0xFF;
        File.WriteAllBytes(jsonl, bytes);
        var u = Assert.Throws<CvBenchFormatException>(() => CvBenchRelease.Load(root, new LayoutOptions { CheckImages = false }));
        Assert.Contains("test.jsonl' line 1: invalid UTF-8", u.Message);

        File.WriteAllLines(jsonl, File.ReadAllLines(jsonl).Skip(1).Append("{\"idx\": 9, \"type\": \"2D\""));
        var j = Assert.Throws<CvBenchFormatException>(() => CvBenchRelease.Load(root, new LayoutOptions { CheckImages = false }));
        Assert.Contains("test.jsonl' line 4: not valid JSON", j.Message);
    }
}
