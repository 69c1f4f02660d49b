using System.Globalization;

namespace OlaCheck;

/// The one argument reader every command uses. A command line is positional words, flags (`--quick`), options with
/// a value (`--ship DIR`) and settings (`steps=600`); each command declares which it takes, and anything else is an
/// error that names it, so a typo never runs the default silently.
public sealed class CommandArgs
{
    readonly string _command;
    readonly List<string> _positional = [];
    readonly HashSet<string> _flags = [];
    readonly Dictionary<string, string> _options = [], _settings = [];

    /// `args` after the command name. flags: "--quick"; options: "--ship" (takes the next word); settings: "steps".
    public CommandArgs(string command, IEnumerable<string> args, string[]? flags = null, string[]? options = null, string[]? settings = null)
    {
        _command = command;
        var words = args.ToList();
        for (int i = 0; i < words.Count; i++)
        {
            var w = words[i];
            if (w.StartsWith("--"))
            {
                if (flags?.Contains(w) == true) _flags.Add(w);
                else if (options?.Contains(w) == true)
                    _options[w] = i + 1 < words.Count ? words[++i] : throw new UsageException($"{command}: {w} needs a value");
                else throw new UsageException($"{command}: unknown option '{w}'");
            }
            else if (w.Contains('='))
            {
                var (k, v) = (w[..w.IndexOf('=')], w[(w.IndexOf('=') + 1)..]);
                if (settings?.Contains(k) != true)
                    throw new UsageException($"{command}: unknown setting '{k}' (known: {string.Join(", ", settings ?? [])})");
                _settings[k] = v;
            }
            else _positional.Add(w);
        }
    }

    public bool Flag(string flag) => _flags.Contains(flag);
    public string? Option(string option) => _options.GetValueOrDefault(option);
    public bool Has(string setting) => _settings.ContainsKey(setting);
    public string? Text(string setting) => _settings.GetValueOrDefault(setting);
    public string? Positional(int index) => index < _positional.Count ? _positional[index] : null;
    public int PositionalCount => _positional.Count;

    public int Int(string setting, int fallback) => _settings.TryGetValue(setting, out var v) ? ParseInt(setting, v) : fallback;
    public int? Int(string setting) => _settings.TryGetValue(setting, out var v) ? ParseInt(setting, v) : null;
    public double Double(string setting, double fallback) => Double(setting) ?? fallback;
    public double? Double(string setting) => _settings.TryGetValue(setting, out var v)
        ? double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d
          : throw new UsageException($"{_command}: {setting}={v} is not a number")
        : null;
    public int PositionalInt(int index, int fallback) => Positional(index) is string v ? ParseInt($"argument {index + 1}", v) : fallback;

    int ParseInt(string what, string v) => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0
        ? n : throw new UsageException($"{_command}: {what}={v} is not a whole number ≥ 0");
}

/// A command line that does not fit the command: printed with the command's usage, exit code 1.
public sealed class UsageException(string message) : Exception(message);
