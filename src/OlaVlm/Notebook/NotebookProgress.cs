using System.Net;
using System.Reflection;
using OlaVlm.Training;

namespace OlaVlm.Notebook;

/// A training progress bar that updates ONE output in place in a notebook (VS Code, Jupyter, the
/// headless runner), instead of printing a line per step.
///
/// Why reflection: the library must not depend on the kernel's assemblies (it also runs in plain
/// programs and tests). Inside a .NET Interactive kernel, KernelInvocationContext.Current is the cell
/// being run; its Display(...) returns a DisplayedValue whose Update(...) replaces that output.
public sealed class NotebookProgress : IProgressReporter
{
    readonly object _context;
    readonly System.Diagnostics.Stopwatch _clock = new();
    object? _displayed;          // Microsoft.DotNet.Interactive.DisplayedValue
    int _total;
    string _title = "";
    long _lastDrawMs = -1000;

    NotebookProgress(object context) => _context = context;

    /// A reporter bound to the cell now running, or null outside a notebook kernel.
    public static IProgressReporter? TryCreate()
    {
        var ctx = CurrentContext();
        return ctx == null || DisplayMethod == null ? null : new NotebookProgress(ctx);
    }

    public void Start(int total, string title)
    {
        _total = Math.Max(1, total); _title = title;
        _clock.Restart();
        _displayed = DisplayMethod!.Invoke(null, [_context, View(0, "starting"), new[] { "text/html" }]);
    }

    public void Report(int step, string text)
    {
        // Redraw at most 4 times a second: each update is a message to the front end.
        if (_clock.ElapsedMilliseconds - _lastDrawMs < 250 && step < _total) return;
        _lastDrawMs = _clock.ElapsedMilliseconds;
        Update(View(step, text));
    }

    public void Finish(string text) => Update(View(_total, $"done: {text} ({_clock.Elapsed.TotalSeconds:F1} s)"));

    void Update(ProgressView view) =>
        _displayed?.GetType().GetMethod("Update", [typeof(object)])?.Invoke(_displayed, [view]);

    ProgressView View(int step, string text)
    {
        double frac = Math.Clamp(step / (double)_total, 0, 1);
        double secs = _clock.Elapsed.TotalSeconds;
        string eta = step > 0 && step < _total ? $", ~{secs / step * (_total - step):F0} s left" : "";
        return new ProgressView(
            $"<div style=\"font-family:monospace;font-size:12px\">{WebUtility.HtmlEncode(_title)} {step}/{_total}" +
            $"<div style=\"background:#eee;width:420px;height:8px;margin:3px 0\"><div style=\"background:#4a7bd0;height:8px;width:{frac * 100:F1}%\"></div></div>" +
            $"{WebUtility.HtmlEncode(text)} [{secs:F0} s{eta}]</div>",
            $"{_title} {step}/{_total} {text}");
    }

    static object? CurrentContext() =>
        AppDomain.CurrentDomain.GetAssemblies()
            .Select(a => a.GetType("Microsoft.DotNet.Interactive.KernelInvocationContext", throwOnError: false))
            .FirstOrDefault(t => t != null)
            ?.GetProperty("Current", BindingFlags.Public | BindingFlags.Static)?.GetValue(null);

    static MethodInfo? DisplayMethod => _display ??= AppDomain.CurrentDomain.GetAssemblies()
        .Select(a => a.GetType("Microsoft.DotNet.Interactive.KernelInvocationContextExtensions", throwOnError: false))
        .FirstOrDefault(t => t != null)
        ?.GetMethods(BindingFlags.Public | BindingFlags.Static)
        .FirstOrDefault(m => m.Name == "Display" && m.GetParameters().Length == 3);
    static MethodInfo? _display;
}

/// What NotebookProgress displays: HTML for notebooks (registered in Formatters), text elsewhere.
public sealed record ProgressView(string Html, string Text)
{
    public override string ToString() => Text;
}
