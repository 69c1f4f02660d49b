namespace OlaVlm.Training;

/// Where a long loop says how far it is. The Trainer talks only to this interface, so a notebook can
/// swap in a reporter that updates one display cell in place (set Progress.Factory once per kernel).
public interface IProgressReporter
{
    void Start(int total, string title);
    /// `step` is the number of units done (1..total); `text` a short status such as the loss parts.
    void Report(int step, string text);
    void Finish(string text);
}

public static class Progress
{
    /// Creates the reporter for each new loop. Default: ConsoleProgress.
    public static Func<IProgressReporter> Factory { get; set; } = () => new ConsoleProgress();
}

/// In a terminal: one line rewritten in place with '\r'. Redirected (CI logs, test runners, notebook
/// kernels' stdout): a plain line every `percentEvery` percent, so logs stay short and readable.
public sealed class ConsoleProgress(TextWriter? writer = null, bool? inPlace = null, int percentEvery = 10) : IProgressReporter
{
    readonly TextWriter _out = writer ?? Console.Out;
    readonly bool _inPlace = inPlace ?? (writer == null && !Console.IsOutputRedirected);
    readonly System.Diagnostics.Stopwatch _clock = new();
    int _total, _lastWidth, _nextPercent, _firstStep;
    string _title = "";
    long _lastDrawMs = -1000;

    public void Start(int total, string title)
    {
        _total = Math.Max(1, total); _title = title; _nextPercent = percentEvery; _lastWidth = 0; _firstStep = -1;
        _clock.Restart();
        if (!_inPlace) _out.WriteLine($"{title}: {total} steps");
    }

    public void Report(int step, string text)
    {
        if (_firstStep < 0) _firstStep = step - 1; // a resumed run starts mid-way: time only what this run did
        var line = $"{_title} {step}/{_total} {text} [{Eta(step)}]";
        if (_inPlace)
        {
            // Redraw at most 10 times a second: a terminal is slower than a tiny model's step.
            if (_clock.ElapsedMilliseconds - _lastDrawMs < 100 && step < _total) return;
            _lastDrawMs = _clock.ElapsedMilliseconds;
            _out.Write("\r" + line.PadRight(_lastWidth));
            _lastWidth = line.Length;
        }
        else if (step * 100 >= _nextPercent * (long)_total || step == _total)
        {
            _out.WriteLine(line);
            while (_nextPercent * (long)_total <= step * 100L) _nextPercent += Math.Max(1, percentEvery);
        }
    }

    public void Finish(string text)
    {
        var line = $"{_title} done: {text} ({_clock.Elapsed.TotalSeconds:F1} s)";
        _out.WriteLine(_inPlace ? "\r" + line.PadRight(_lastWidth) : line);
        _out.Flush();
    }

    string Eta(int step)
    {
        int done = step - _firstStep;
        if (done <= 0) return "…";
        double left = _clock.Elapsed.TotalSeconds / done * (_total - step);
        return $"{_clock.Elapsed.TotalSeconds:F0}s<{left:F0}s";
    }
}

/// Says nothing (tests, nested loops).
public sealed class SilentProgress : IProgressReporter
{
    public void Start(int total, string title) { }
    public void Report(int step, string text) { }
    public void Finish(string text) { }
}
