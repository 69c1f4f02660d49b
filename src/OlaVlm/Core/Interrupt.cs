namespace OlaVlm.Core;

/// A request to stop long work at its next safe point, and who is listening. Loops that can stop cleanly (the
/// Trainer, between steps) poll `Requested`; nothing is aborted mid-step, so what they leave on disk is consistent.
/// Requests come from three places:
///   a notebook kernel's interrupt (VS Code, Jupyter and the headless runner cancel the running cell): Notebook.Setup
///     installs `Source`, which reads the running cell's cancellation token;
///   Ctrl+C in a command-line program that calls `Request()` from Console.CancelKeyPress (OlaCheck does);
///   a caller's own CancellationToken, given to `Watch`.
/// `Active` counts the loops listening now, so a host that interrupted a cell can wait until they have stopped.
public static class Interrupt
{
    static volatile bool _requested;
    static int _active;
    static readonly AsyncLocal<CancellationToken> Token = new();

    /// Extra stop condition polled with every check (the notebook kernel's cell cancellation); null: none.
    public static Func<bool>? Source { get; set; }

    /// Whether the running work should stop at its next safe point.
    public static bool Requested =>
        _requested || Token.Value.IsCancellationRequested || (Source?.Invoke() ?? false);

    /// Asks every listening loop to stop at its next safe point (and the next one to start, if none listens yet).
    public static void Request() => _requested = true;

    /// Forgets a request (a loop that stopped for it calls this, so the next run starts normally).
    public static void Clear() => _requested = false;

    /// Loops listening now.
    public static int Active => Volatile.Read(ref _active);

    /// Marks a listening loop for as long as the returned scope lives.
    public static IDisposable Listen()
    {
        Interlocked.Increment(ref _active);
        return new Scope(() => Interlocked.Decrement(ref _active));
    }

    /// Makes `token` a stop request for the code that runs inside the returned scope on this async flow.
    public static IDisposable Watch(CancellationToken token)
    {
        var before = Token.Value;
        Token.Value = token;
        return new Scope(() => Token.Value = before);
    }

    sealed class Scope(Action end) : IDisposable
    {
        int _done;
        public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) end(); }
    }
}
