using System.Text;
using OlaVlm.Data.Layouts;
using OlaVlm.World;
using Xunit.Abstractions;
using static OlaVlm.Tests.Data.DatasetFixtures;

namespace OlaVlm.Tests.Data;

/// LlavaJsonStream reads record by record: it has yielded records long before the file is read, never asks the
/// stream for more than its buffer, and gives exactly what the whole-file reader gives.
public class LlavaJsonStreamTests(ITestOutputHelper output)
{
    /// Counts what the reader takes from the stream.
    sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }
        public int LargestRequest { get; private set; }
        public override int Read(byte[] buffer, int offset, int count)
        {
            LargestRequest = Math.Max(LargestRequest, count);
            int n = inner.Read(buffer, offset, count);
            BytesRead += n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
    }

    /// A 665K-shaped file of `count` two-turn records (about 420 bytes each).
    static string Generated(int count, string name)
    {
        var file = Path.Combine(Core.Paths.OutDir("test-layouts"), $"{name}-{Guid.NewGuid():N}.json");
        using var w = new StreamWriter(file, false, new UTF8Encoding(false));
        w.Write("[\n");
        for (int i = 0; i < count; i++)
        {
            w.Write(i == 0 ? "" : ",\n");
            w.Write($$"""  {"id": "{{i:D12}}", "image": "coco/train2017/{{i:D12}}.jpg", "conversations": [{"from": "human", "value": "<image>\nWhat is in picture {{i}}? {{new string('x', 200)}}"}, {"from": "gpt", "value": "Picture {{i}} shows a block."}]}""");
        }
        w.Write("\n]\n");
        return file;
    }

    [Fact]
    public void Records_arrive_before_the_file_is_read_and_the_buffer_never_grows()
    {
        var file = Generated(20_000, "stream");
        long size = new FileInfo(file).Length;
        using var counting = new CountingStream(File.OpenRead(file));
        long readAtFirst = -1, maxAhead = 0;
        int n = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var r in LlavaJsonStream.Read(counting, file))
        {
            if (n == 0) readAtFirst = counting.BytesRead;
            maxAhead = Math.Max(maxAhead, counting.BytesRead - (long)n * size / 20_000);
            Assert.Equal($"{n:D12}", r.Record.Id);
            n++;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{size:N0}-byte file: first record after {readAtFirst:N0} bytes read; read at most {maxAhead:N0} bytes ahead; " +
                         $"largest read {counting.LargestRequest:N0} bytes; {allocated / (double)size:F1} bytes allocated per file byte (all transient)");
        Assert.Equal(20_000, n);
        Assert.True(size > 8_000_000, $"file is only {size} bytes");
        Assert.True(readAtFirst <= 1 << 16, $"first record came after {readAtFirst} bytes");
        Assert.True(maxAhead <= (1 << 16) + 1024, $"read {maxAhead} bytes ahead of the records");
        Assert.Equal(1 << 16, counting.LargestRequest);
        Assert.Equal(size, counting.BytesRead);
    }

    [Fact]
    public void A_tiny_buffer_gives_the_same_records_as_the_whole_file_reader()
    {
        var json = LlavaLayout.Mix665K.JsonPath(Root("llava-mix665k"));
        var whole = LlavaDataset.Load(json).Records;
        foreach (var size in new[] { 16, 100, 1 << 16 })
        {
            var streamed = LlavaJsonStream.Read(json, bufferSize: size).Select(r => r.Record).ToList();
            Assert.Equal(whole.Count, streamed.Count);
            for (int i = 0; i < whole.Count; i++)
            {
                Assert.Equal((whole[i].Id, whole[i].Image), (streamed[i].Id, streamed[i].Image));
                Assert.Equal(whole[i].Conversations, streamed[i].Conversations);
            }
        }
    }

    [Fact]
    public void A_record_larger_than_the_buffer_grows_it()
    {
        var big = new string('y', 300_000);
        var text = $$"""[{"id": "big", "conversations": [{"from": "human", "value": "{{big}}"}, {"from": "gpt", "value": "ok"}]}, {"id": "next", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "ok"}]}]""";
        using var counting = new CountingStream(new MemoryStream(Encoding.UTF8.GetBytes(text)));
        var records = LlavaJsonStream.Read(counting, "big.json", bufferSize: 1 << 12).ToList();
        Assert.Equal(["big", "next"], records.Select(r => r.Record.Id));
        Assert.Equal(big, records[0].Record.Conversations[0].Value);
        Assert.True(counting.LargestRequest > 1 << 12);
    }

    [Fact]
    public void A_byte_order_mark_is_accepted()
    {
        var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat("""[{"id": 7, "conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]}]"""u8.ToArray()).ToArray();
        var r = Assert.Single(LlavaJsonStream.Read(new MemoryStream(bytes), "bom.json"));
        Assert.Equal("7", r.Record.Id);
    }

    [Theory]
    [InlineData("""{"id": "x"}""", "expected a JSON array of records")]
    [InlineData("""[{"id": "a", "conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]}, """, "ends before the closing ']'")]
    [InlineData("""[] []""", "content after the closing ']'")]
    [InlineData("", "empty file")]
    public void A_file_that_is_not_one_record_array_says_what_is_wrong(string text, string message)
    {
        var e = Assert.ThrowsAny<FormatException>(() => LlavaJsonStream.Read(new MemoryStream(Encoding.UTF8.GetBytes(text)), "bad.json").ToList());
        Assert.Contains("bad.json", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Skipping_needs_a_report()
    {
        Assert.Throws<ArgumentException>(() => LlavaJsonStream.Read(new MemoryStream(), "x.json", MalformedRecordPolicy.SkipAndReport));
    }
}
