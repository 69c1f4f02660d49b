using System.Reflection;
using System.Runtime.Loader;
using Microsoft.Data.Analysis;
using Microsoft.DotNet.Interactive.Formatting;
using OlaVlm.Notebook;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace OlaVlm.Tests.Notebook;

public class NotebookHostTests
{
    [Fact]
    public void FSharpCore_request_of_a_higher_version_gets_the_loaded_assembly()
    {
        var loaded = typeof(Microsoft.FSharp.Core.FSharpOption<int>).Assembly;
        var higher = new AssemblyName(loaded.GetName().FullName) { Version = new Version(99, 1, 0, 0) };
        Assert.Same(loaded, FSharpCoreResolver.Resolve(AssemblyLoadContext.Default, higher));
    }

    [Fact]
    public void Other_assembly_names_are_not_answered()
    {
        _ = typeof(Microsoft.FSharp.Core.FSharpOption<int>).Assembly;
        Assert.Null(FSharpCoreResolver.Resolve(AssemblyLoadContext.Default, new AssemblyName("Plotly.NET, Version=6.0.0.0")));
        Assert.Null(FSharpCoreResolver.Resolve(AssemblyLoadContext.Default, new AssemblyName("FSharp.Core.Extras")));
    }

    [Fact]
    public void Image_becomes_a_png_data_uri_that_decodes_to_the_same_pixels()
    {
        using var img = new Image<Rgb24>(8, 4);
        img[3, 2] = new Rgb24(10, 200, 30);
        var tag = ImageHtml.ImgTag(img);
        const string prefix = "data:image/png;base64,";
        var start = tag.IndexOf(prefix, StringComparison.Ordinal) + prefix.Length;
        Assert.True(start > prefix.Length - 1, tag);
        var bytes = Convert.FromBase64String(tag[start..tag.IndexOf('"', start)]);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        using var back = Image.Load<Rgb24>(bytes);
        Assert.Equal((8, 4), (back.Width, back.Height));
        Assert.Equal(new Rgb24(10, 200, 30), back[3, 2]);
        // Small images are shown enlarged, keeping the aspect ratio.
        Assert.Contains($"width=\"{8 * 20}\" height=\"{4 * 20}\"", tag);
    }

    [Fact]
    public void Formatter_shows_images_and_dataframes_as_html()
    {
        Formatters.Register();
        using var img = new Image<Rgb24>(2, 2);
        Assert.StartsWith("<img src=\"data:image/png;base64,", Formatter.ToDisplayString(img, HtmlFormatter.MimeType));

        var df = new DataFrame(new PrimitiveDataFrameColumn<int>("step", [0, 10]), new StringDataFrameColumn("note", ["a", "<b>x</b>"]));
        var html = Formatter.ToDisplayString(df, HtmlFormatter.MimeType);
        Assert.Contains("<th title=\"Int32\">step</th>", html);
        Assert.Contains("&lt;b&gt;x&lt;/b&gt;", html);
        Assert.Contains("2 rows × 2 columns", html);
    }

    [Fact]
    public void Profile_names_are_checked()
    {
        Assert.Equal("full", Profile.Parse(null));
        Assert.Equal("full", Profile.Parse(" "));
        Assert.Equal("quick", Profile.Parse(" Quick "));
        var e = Assert.Throws<ArgumentException>(() => Profile.Parse("quik"));
        Assert.Contains("OLA_PROFILE", e.Message);
        Assert.Contains("quik", e.Message);
    }

    [Fact]
    public void Setup_line_names_versions_device_and_profile()
    {
        var line = Setup.Describe();
        Assert.Matches(@"^OlaVlm \S+ \| TorchSharp .*libtorch .*device .* \| profile (quick|full)", line);
    }
}
