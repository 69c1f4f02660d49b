using System.Runtime.CompilerServices;
using Microsoft.Data.Analysis;
using Microsoft.DotNet.Interactive.Formatting;
using Plotly.NET;
using SixLabors.ImageSharp;

namespace OlaVlm.Notebook;

/// Registers the notebook display formatters with Microsoft.DotNet.Interactive.Formatting.
///
/// The library references the Formatting package 1.0.0-beta.26120.1; the dotnet-interactive 1.0.712001
/// kernel carries that same build (assembly 1.0.0.0, same commit), and so does the in-process runner, so
/// `Formatter` here is the host's own static Formatter and registrations take effect in the host.
public static class Formatters
{
    static readonly object _gate = new();

    /// Registers (again) every formatter. Not skipped on a second call: a host may have run
    /// Formatter.ResetToDefault() since (an in-process runner between notebooks), and re-registering only
    /// puts the same formatter in front again. Touches Plotly.NET types: call FSharpCoreResolver.Register()
    /// first (Setup.Run does).
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Register()
    {
        lock (_gate) RegisterAll();
    }

    static void RegisterAll()
    {
        Formatter.Register<GenericChart>((chart, writer) => writer.Write(PlotlyHtml.Session.Render(chart)), HtmlFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(GenericChart), HtmlFormatter.MimeType);
        // Registered for the base class: covers Image<Rgb24>, Image<L8>, Image<Rgba32>...
        Formatter.Register<Image>((image, writer) => writer.Write(ImageHtml.ImgTag(image)), HtmlFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(Image), HtmlFormatter.MimeType);
        Formatter.Register<DataFrame>((df, writer) => writer.Write(DataFrameHtml.Table(df)), HtmlFormatter.MimeType);
        Formatter.Register<ProgressView>((p, writer) => writer.Write(p.Html), HtmlFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(DataFrame), HtmlFormatter.MimeType);
    }
}
