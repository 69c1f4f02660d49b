using OlaVlm.Teachers;
using OlaVlm.World;

namespace OlaCheck.Commands;

/// Trains the default profile's three mini teachers (depth, seg, gen) from scratch, deterministically, and ships them
/// with SHA-256 to DIR (default data/teachers): environment/pretrain-teachers.sh runs this.
public static class Teachers
{
    public static readonly Command Command = new("teachers", "[--ship DIR]", "trains the three mini teachers and ships them (default data/teachers)", Run);

    static int Run(string[] args)
    {
        var a = new CommandArgs("teachers", args, options: ["--ship"]);
        string dest = a.Option("--ship") is string s ? Path.GetFullPath(s) : WorldTeachers.ShippedDir;
        var world = MiniWorld.Build(new WorldConfig(), log: Console.WriteLine);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var stored = WorldTeachers.TrainAndShip(world, dest, log: Console.WriteLine);
        foreach (var t in stored) Console.WriteLine($"{t.Teacher.Name}: {t.Score}");
        Console.WriteLine($"teachers trained in {sw.Elapsed.TotalSeconds:F0} s, shipped to {dest}");
        foreach (var t in stored) t.Teacher.Dispose();
        return 0;
    }
}
