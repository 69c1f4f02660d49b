namespace OlaCheck;

/// One OlaCheck command: its name, its arguments as the usage line shows them, what it is for, and what it does
/// (the exit code). Each lives in its own file under Commands/.
public sealed record Command(string Name, string Usage, string About, Func<string[], int> Run);
