using System.Diagnostics;
using OlaRunner;

// Headless notebook runner: executes notebooks/NN-*.ipynb in order in-process, writes executed copies
// (with all outputs) and one chart page per notebook under out/, prints a progress line per cell, and
// exits non-zero naming the notebook, cell and error when a cell fails. Every run ends with a table of
// the time per notebook and per cell, also written to out/report/timings.json (RunTimings).
//
//   dotnet run --project src/OlaRunner -- [--profile quick|full] [--out DIR] [--cell-timeout SECONDS]
//                                         [--keep-going] [notebooks...]
// --keep-going runs the remaining cells (and notebooks) after a failure; the exit code is still non-zero.
// Unless --no-build is given, the library is built first: notebooks reference out/lib/OlaVlm.dll,
// which every build of src/OlaVlm refreshes.
// The profile and output folder come from the flags, else from OLA_PROFILE / OLA_OUT (as the README
// documents for every host), else the defaults (full, <repo>/out).

string? profile = null;
string? outDir = null;
var cellTimeout = TimeSpan.FromMinutes(30);
var keepGoing = false;
var build = true;
var selected = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--profile": profile = Need(ref i); break;
        case "--out": outDir = Need(ref i); break;
        case "--keep-going": keepGoing = true; break;
        case "--no-build": build = false; break;
        case "--cell-timeout": cellTimeout = TimeSpan.FromSeconds(double.Parse(Need(ref i))); break;
        case "-h" or "--help":
            Console.WriteLine("usage: OlaRunner [--profile quick|full] [--out DIR] [--cell-timeout SECONDS] [--keep-going] [--no-build] [notebook.ipynb ...]");
            return 0;
        default: selected.Add(args[i]); break;
    }
}
profile ??= Env("OLA_PROFILE") ?? "full";
if (profile.Trim().ToLowerInvariant() is not ("quick" or "full"))
    return Fail($"unknown profile '{profile}' (expected quick or full; from {(args.Contains("--profile") ? "--profile" : "OLA_PROFILE")})");
profile = profile.Trim().ToLowerInvariant();

var root = RepoRoot.Find();
outDir = Path.GetFullPath(outDir ?? Env("OLA_OUT") ?? Path.Combine(root, "out"));
// The notebooks read the profile and the output folder from the environment, as they do in VS Code
// or Jupyter when a user sets them.
Environment.SetEnvironmentVariable("OLA_PROFILE", profile);
Environment.SetEnvironmentVariable("OLA_OUT", outDir);

var notebooks = selected.Count > 0
    ? selected.Select(Path.GetFullPath).ToList()
    : Directory.GetFiles(Path.Combine(root, "notebooks"), "*.ipynb")
               .Where(f => char.IsDigit(Path.GetFileName(f)[0])).Order(StringComparer.Ordinal).ToList();
foreach (var nb in notebooks)
    if (!File.Exists(nb)) return Fail($"notebook not found: {nb}");
if (notebooks.Count == 0) return Fail($"no notebooks found under {Path.Combine(root, "notebooks")}");

if (build && !BuildLibrary(root)) return Fail("building src/OlaVlm failed (see the output above)");

Console.WriteLine($"OlaRunner: {notebooks.Count} notebook(s), profile {profile}, outputs in {outDir}");
var runner = new NotebookRunner(Console.Out, keepGoing);
var failures = new List<CellFailure>();
var timings = new RunTimings(profile, DateTime.UtcNow);
foreach (var nb in notebooks)
{
    var name = Path.GetFileNameWithoutExtension(nb);
    var sw = Stopwatch.StartNew();
    var result = await runner.RunAsync(nb, Path.Combine(outDir, "notebooks", name + ".ipynb"),
                                       Path.Combine(outDir, "html", name + ".html"), cellTimeout);
    timings.Add(new NotebookTiming(name, sw.Elapsed.TotalSeconds, result.Failure is not null, result.Cells));
    // Written after every notebook, so a run stopped (or killed) midway still leaves what it measured.
    timings.Write(outDir);
    if (result.Failure is null) continue;
    failures.Add(result.Failure);
    if (!keepGoing) break;
}
Console.WriteLine(timings.Table());
Console.WriteLine($"OlaRunner: timings written to {RunTimings.PathUnder(outDir)}");
foreach (var f in failures)
    Console.Error.WriteLine($"OlaRunner: {f.Notebook}: cell {f.Cell}/{f.Cells} failed: {Head(f.Error, 25)}");
if (failures.Count > 0) return 1;
Console.WriteLine("OlaRunner: all notebooks ran.");
return 0;

static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { } v && !string.IsNullOrWhiteSpace(v) ? v : null;

// The message and the top of its stack trace (enough to name the call that failed, short enough for a CI log).
static string Head(string s, int lines) => string.Join("\n", s.Split('\n').Take(lines).Select(l => l.TrimEnd()));

string Need(ref int i) => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");

static bool BuildLibrary(string root)
{
    Console.WriteLine("OlaRunner: building the library (dotnet build src/OlaVlm -c Release)");
    var psi = new ProcessStartInfo("dotnet", ["build", Path.Combine(root, "src", "OlaVlm"), "-c", "Release", "-v", "quiet", "-nologo"])
        { WorkingDirectory = root };
    using var p = Process.Start(psi)!;
    p.WaitForExit();
    return p.ExitCode == 0;
}

static int Fail(string message)
{
    Console.Error.WriteLine($"OlaRunner: {message}");
    return 1;
}

static class RepoRoot
{
    public static string Find()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d != null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "OlaNotebooks.sln"))) return d.FullName;
        throw new InvalidOperationException("cannot find the repository root (OlaNotebooks.sln) above " + Directory.GetCurrentDirectory());
    }
}
