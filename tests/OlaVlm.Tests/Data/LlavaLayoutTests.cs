using System.Text;
using OlaVlm.Data.Layouts;
using OlaVlm.World;
using static OlaVlm.Tests.Data.DatasetFixtures;

namespace OlaVlm.Tests.Data;

/// The LLaVA-format releases (558K, 665K, ALLaVA-Caption) read from their hand-made samples, and each way a
/// record or an image can be wrong: one error naming the file and the record, or a counted skip.
public class LlavaLayoutTests
{
    static readonly LayoutOptions Skip = new() { Policy = MalformedRecordPolicy.SkipAndReport };

    [Fact]
    public void Pretrain_558k_reads_with_its_images()
    {
        var (data, skips) = LlavaLayout.Pretrain558K.Load(Root("llava-pretrain-558k"));
        Assert.Equal(["004539375", "002239345", "000000010"], data.Records.Select(r => r.Id));
        Assert.Equal(0, skips.Count);
        Assert.All(data.Records, r => Assert.True(File.Exists(data.ImagePath(r)), r.Image));
        Assert.EndsWith(Path.Combine("images", "00453", "004539375.jpg"), data.ImagePath(data.Records[0]));
        using var img = data.LoadImage(data.Records[0]);
        Assert.Equal(16, img.Width);
    }

    [Fact]
    public void Mix_665k_reads_multi_turn_text_only_and_every_image_folder()
    {
        var records = LlavaLayout.Mix665K.Records(Root("llava-mix665k")).ToList();
        Assert.Equal(7, records.Count);
        Assert.Equal(Enumerable.Range(0, 7), records.Select(r => r.Index));
        Assert.Equal(4, records[0].Record.Conversations.Count);
        var textOnly = Assert.Single(records, r => !r.Record.HasImage);
        Assert.Equal("i6IyJda_0", textOnly.Record.Id);
        foreach (var folder in LlavaLayout.Mix665K.ImageFolders)
            Assert.Contains(records, r => r.Record.Image?.StartsWith(folder + "/") == true);
        // Lines point into the file: record 1 starts on the line of its opening brace.
        var lines = File.ReadAllLines(LlavaLayout.Mix665K.JsonPath(Root("llava-mix665k")));
        Assert.Equal("{", lines[records[1].Line - 1].Trim());
        Assert.Contains("2354786", lines[records[1].Line]);
    }

    [Theory]
    [InlineData("laion")]
    [InlineData("vflan")]
    public void Allava_caption_reads_as_llava_records(string subset)
    {
        var layout = subset == "laion" ? LlavaLayout.AllavaCaptionLaion : LlavaLayout.AllavaCaptionVflan;
        var (data, _) = layout.Load(Root("allava-4v"));
        Assert.Equal(2, data.Records.Count);
        Assert.All(data.Records, r => Assert.StartsWith($"allava_{subset}_cap_", r.Id));
        Assert.All(data.Records, r => Assert.StartsWith(LlavaRecord.ImageToken, r.Conversations[0].Value));
        Assert.All(data.Records, r => Assert.True(File.Exists(data.ImagePath(r)), r.Image));
    }

    [Fact]
    public void Allava_with_a_missing_image_or_a_malformed_record_names_it_or_counts_it()
    {
        var root = Copy("allava-4v");
        File.Delete(Path.Combine(root, "allava_laion", "images", "100277306.jpeg"));
        var e = Assert.Throws<LlavaFormatException>(() => LlavaLayout.AllavaCaptionLaion.Load(root));
        Assert.Contains("ALLaVA-Caption-LAION-4V.json' record 1 (line ", e.Message);
        Assert.Contains("id allava_laion_cap_100277306", e.Message);
        Assert.Contains("image file missing", e.Message);
        var (data, skips) = LlavaLayout.AllavaCaptionLaion.Load(root, Skip);
        Assert.Equal((1, 1), (data.Records.Count, skips.Count));

        var json = LlavaLayout.AllavaCaptionVflan.JsonPath(root);
        File.WriteAllText(json, File.ReadAllText(json).Replace("\"from\": \"gpt\"", "\"from\": \"human\""));
        var bad = Assert.Throws<LlavaFormatException>(() => LlavaLayout.AllavaCaptionVflan.Load(root));
        Assert.Contains("ALLaVA-Caption-VFLAN-4V.json' record 0 (line ", bad.Message);
        Assert.Contains("'from' must be \"gpt\"", bad.Message);
        Assert.Equal(0, LlavaLayout.AllavaCaptionVflan.Load(root, Skip).Data.Records.Count);
    }

    [Fact]
    public void Max_records_stops_early()
    {
        var (data, _) = LlavaLayout.Mix665K.Load(Root("llava-mix665k"), new LayoutOptions { MaxRecords = 2 });
        Assert.Equal(["000000033471", "2354786"], data.Records.Select(r => r.Id));
    }

    [Fact]
    public void A_missing_image_names_the_file_the_record_and_the_image_or_is_counted()
    {
        var root = Copy("llava-mix665k");
        File.Delete(Path.Combine(root, "gqa", "images", "2354786.jpg"));
        var e = Assert.Throws<LlavaFormatException>(() => LlavaLayout.Mix665K.Load(root));
        Assert.Contains("llava_v1_5_mix665k.json' record 1 (line ", e.Message);
        Assert.Contains("id 2354786", e.Message);
        Assert.Contains("image file missing", e.Message);
        Assert.Contains(Path.Combine("gqa", "images", "2354786.jpg"), e.Message);

        var (data, skips) = LlavaLayout.Mix665K.Load(root, Skip);
        Assert.Equal(6, data.Records.Count);
        Assert.Equal(1, skips.Count);
        Assert.Equal("2354786", Assert.Single(skips.First).Id);
        Assert.Contains("skipped 1 record(s)", skips.ToString());
        // Without the image check the record stays (e.g. to count records before images are downloaded).
        Assert.Equal(7, LlavaLayout.Mix665K.Load(root, new LayoutOptions { CheckImages = false }).Data.Records.Count);
    }

    [Fact]
    public void A_malformed_record_names_its_index_line_and_id_or_is_counted()
    {
        var root = Copy("llava-mix665k");
        var json = LlavaLayout.Mix665K.JsonPath(root);
        File.WriteAllText(json, File.ReadAllText(json).Replace("\"from\": \"gpt\",\n        \"value\": \"Left\"", "\"from\": \"human\",\n        \"value\": \"Left\""));
        var e = Assert.Throws<LlavaFormatException>(() => LlavaLayout.Mix665K.Load(root));
        Assert.Contains("record 1 (line ", e.Message);
        Assert.Contains("id 2354786", e.Message);
        Assert.Contains("turn 1: 'from' must be \"gpt\"", e.Message);
        var (data, skips) = LlavaLayout.Mix665K.Load(root, Skip);
        Assert.Equal((6, 1), (data.Records.Count, skips.Count));
    }

    [Fact]
    public void Records_that_break_the_layout_are_errors()
    {
        var root = Copy("llava-mix665k");
        var json = LlavaLayout.Mix665K.JsonPath(root);
        File.WriteAllText(json, File.ReadAllText(json).Replace("gqa/images/2354786.jpg", "elsewhere/2354786.jpg"));
        var e = Assert.Throws<LlavaFormatException>(() => LlavaLayout.Mix665K.Load(root));
        Assert.Contains("outside LLaVA-1.5 mix 665K's image folders", e.Message);

        var pt = Copy("llava-pretrain-558k");
        var ptJson = LlavaLayout.Pretrain558K.JsonPath(pt);
        File.WriteAllText(ptJson, File.ReadAllText(ptJson).Replace("\"image\": \"00223/002239345.jpg\",", "").Replace("<image>\\nWrite", "Write"));
        var e2 = Assert.Throws<LlavaFormatException>(() => LlavaLayout.Pretrain558K.Load(pt));
        Assert.Contains("record 1", e2.Message);
        Assert.Contains("no 'image'", e2.Message);
    }

    [Fact]
    public void Invalid_utf8_names_the_record_and_line_or_is_counted()
    {
        var root = Copy("llava-pretrain-558k");
        var json = LlavaLayout.Pretrain558K.JsonPath(root);
        var bytes = File.ReadAllBytes(json);
        int at = IndexOf(bytes, "green block"u8);
        bytes[at] = 0xC3; bytes[at + 1] = 0x28;   // a two-byte lead followed by a non-continuation byte
        File.WriteAllBytes(json, bytes);
        long line = 1 + bytes.Take(at).Count(b => b == '\n');
        var e = Assert.Throws<LlavaFormatException>(() => LlavaLayout.Pretrain558K.Load(root));
        Assert.Contains("record 1", e.Message);
        Assert.Contains($"invalid UTF-8 at line {line}", e.Message);
        var (data, skips) = LlavaLayout.Pretrain558K.Load(root, Skip);
        Assert.Equal((2, 1), (data.Records.Count, skips.Count));
    }

    [Fact]
    public void Broken_json_stops_with_its_line_even_when_skipping()
    {
        var root = Copy("llava-pretrain-558k");
        var json = LlavaLayout.Pretrain558K.JsonPath(root);
        var text = File.ReadAllText(json);
        int at = text.IndexOf("\"id\": \"002239345\"", StringComparison.Ordinal);
        File.WriteAllText(json, text.Remove(at + "\"id\": \"002239345\"".Length, 1));   // the comma after the id
        long line = 1 + text[..at].Count(c => c == '\n');
        foreach (var options in new[] { new LayoutOptions(), Skip })
        {
            var e = Assert.Throws<LlavaFormatException>(() => LlavaLayout.Pretrain558K.Load(root, options));
            Assert.Contains($"(line {line + 1})", e.Message);
            Assert.Contains("not valid JSON", e.Message);
        }
    }

    [Fact]
    public void A_missing_dataset_or_json_is_named()
    {
        var missing = Path.Combine(Core.Paths.Out, "test-layouts", "nowhere");
        Assert.Throws<DirectoryNotFoundException>(() => LlavaLayout.Mix665K.Load(missing));
        var e = Assert.Throws<FileNotFoundException>(() => LlavaLayout.Mix665K.Load(Root("llava-pretrain-558k")));
        Assert.Contains("llava_v1_5_mix665k.json", e.Message);
    }

    static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle);
}
