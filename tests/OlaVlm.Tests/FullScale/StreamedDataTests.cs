using OlaVlm.Data.Layouts;
using OlaVlm.Tests.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace OlaVlm.Tests.FullScale;

/// The streamed LLaVA data a full-scale stage reads: records found again by position, rendered through the chat
/// template with LLaVA's "<image>" placement, images through the tower's processor, batches a function of (seed, index),
/// bad images named or counted.
public class StreamedDataTests
{
    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static (ITokenizer, ChatTemplate) Phi3 => PretrainedTokenizer.Load(TinyCheckpoints.Inputs.Llm);

    static StreamedConversations Open(string root, LlavaLayout layout, LayoutOptions? options = null, MalformedRecordPolicy policy = MalformedRecordPolicy.Throw)
    {
        var (tok, template) = Phi3;
        var index = LlavaRecordIndex.Build(layout, root, options);
        return new StreamedConversations(index, tok, template, TowerImageProcessor.ForClip(TinyCheckpoints.Inputs.Vision, padToSquare: true)) { Policy = policy };
    }

    [Fact]
    public void RecordsReadBackByPositionEqualTheStreamedOnes()
    {
        var root = DatasetFixtures.Root("llava-mix665k");
        using var index = LlavaRecordIndex.Build(LlavaLayout.Mix665K, root);
        var streamed = LlavaLayout.Mix665K.Records(root).Select(r => r.Record).ToList();
        Assert.Equal(streamed.Count, index.Count);
        Assert.Equal(6, index.ImageCount);
        for (int i = index.Count - 1; i >= 0; i--)   // out of order: each read seeks on its own
        {
            var r = index.Record(i);
            Assert.Equal(streamed[i].Id, r.Id);
            Assert.Equal(streamed[i].Image, r.Image);
            Assert.Equal(streamed[i].Conversations, r.Conversations);
        }
    }

    [Fact]
    public void RendersImageFirstThroughTheChatTemplateAndTextOnlyWithoutImage()
    {
        Assert.Equal("<image>\nRender a summary.", StreamedConversations.ImageFirst("Render a summary.\n<image>"));
        using var pt = Open(DatasetFixtures.Root("llava-pretrain-558k"), LlavaLayout.Pretrain558K);
        var (tok, template) = Phi3;
        var (sample, image) = pt.Sample(0);   // "Render a clear and concise summary of the photo.\n<image>"
        var expected = template.Render(tok, [new(ChatRole.User, "<image>\nRender a clear and concise summary of the photo."), new(ChatRole.Assistant, "a red square on a grey wall")]);
        Assert.Equal(expected.Ids, sample.InputIds);
        Assert.Equal(expected.Labels, sample.Labels);
        Assert.Equal("00453/004539375.jpg", image);

        using var mix = Open(DatasetFixtures.Root("llava-mix665k"), LlavaLayout.Mix665K);
        var (text, none) = mix.Sample(mix.Count - 1);
        Assert.Null(none);
        Assert.DoesNotContain(tok.ImageId, text.InputIds);
        var batch = mix.Batch([mix.Count - 1, 0], CPU);
        Assert.Equal([false, true], batch.HasImage);
        Assert.Equal([1L, 3, 336, 336], batch.Pixels!.shape);
    }

    [Fact]
    public void BatchesAreAFunctionOfSeedAndIndexInStageOrder()
    {
        var root = DatasetFixtures.Root("llava-mix665k");
        using var a = new StreamedStageData(Open(root, LlavaLayout.Mix665K));
        using var b = new StreamedStageData(Open(root, LlavaLayout.Mix665K));
        for (int index = 0; index < 5; index++)   // past the first epoch (3 batches of 2)
        {
            var x = a.Batch(42, index, 2, CPU);
            var y = b.Batch(42, index, 2, CPU);
            var order = StageOrder.Indices(42, index, 2, a.Count);
            var expected = order.Select(i => a.Data.Sample(i).Sample.InputIds).ToList();
            Assert.Equal(expected, x.Samples.Select(s => s.InputIds).ToList());
            Assert.Equal(x.Samples.Select(s => s.InputIds), y.Samples.Select(s => s.InputIds));
            Assert.Equal(x.ImageKeys, y.ImageKeys);
            if (x.Pixels is not null) Assert.True(Same(x.Pixels, y.Pixels!));
        }
    }

    [Fact]
    public void AMissingImageStopsNamingFileRecordAndImageOrIsCountedAndReplaced()
    {
        var root = DatasetFixtures.Copy("llava-pretrain-558k");
        File.Delete(Path.Combine(root, "images", "00223", "002239345.jpg"));   // record 1
        var noCheck = new LayoutOptions { CheckImages = false };
        using (var strict = Open(root, LlavaLayout.Pretrain558K, noCheck))
        {
            var e = Assert.Throws<ImageLoadException>(() => strict.Batch([1], CPU));
            Assert.Contains("blip_laion_cc_sbu_558k.json' record 1 (id 002239345)", e.Message);
            Assert.Contains("002239345.jpg", e.Message);
        }
        using var lenient = Open(root, LlavaLayout.Pretrain558K, noCheck, MalformedRecordPolicy.SkipAndReport);
        var batch = lenient.Batch([1], CPU);
        Assert.Equal([2], batch.Indices);   // the next record took its place
        Assert.Equal(1, lenient.BadImages.Count);
        Assert.Equal(1, lenient.BadImages.First[0].Index);
        // Checked when indexed (the default), the record is refused or counted before training starts.
        Assert.Contains("record 1", Assert.Throws<LlavaFormatException>(() => LlavaRecordIndex.Build(LlavaLayout.Pretrain558K, root)).Message);
        using var skipped = LlavaRecordIndex.Build(LlavaLayout.Pretrain558K, root, new LayoutOptions { Policy = MalformedRecordPolicy.SkipAndReport });
        Assert.Equal((2, 1), (skipped.Count, skipped.Skips.Count));
    }

    [Fact]
    public void TowerProcessorPadsWithTheProcessorsMeanAsLlavaDoes()
    {
        using var image = ImageLoader.Load(TestFiles.Fixture("Teachers", "image0_40x30.png"));
        var clip = ClipImageProcessor.FromJson(Path.Combine(TinyCheckpoints.Inputs.Vision, "preprocessor_config.json"));
        var padded = TowerImageProcessor.ForClip(clip, padToSquare: true);
        Assert.Equal(ConvNextImageProcessor.PadColor, padded.PadColor);   // (122, 116, 104)
        using var square = TowerImageProcessor.ExpandToSquare(image, padded.PadColor);
        var (reference, side, _) = ConvNextImageProcessor.ExpandToSquare(RgbPixels.From(image).Data, image.Width, image.Height);
        Assert.Equal(40, side);
        Assert.Equal(reference, RgbPixels.From(square).Data);   // the ConvNeXt processor's pinned expand2square, byte for byte

        using var direct = clip.Preprocess([square], CPU);
        Assert.Equal(direct.data<float>().ToArray(), padded.Pixels(image));
        using var plain = clip.Preprocess([image], CPU);
        Assert.Equal(plain.data<float>().ToArray(), TowerImageProcessor.ForClip(clip, padToSquare: false).Pixels(image));
        var two = new List<Image<Rgb24>> { image, square };
        using var batch = padded.Pixels(two, CPU);   // on several threads: each row as the image alone
        Assert.Equal([2L, 3, 336, 336], batch.shape);
        for (int i = 0; i < 2; i++)
            using (var row = batch[i]) Assert.Equal(padded.Pixels(two[i]), row.data<float>().ToArray());
    }
}
