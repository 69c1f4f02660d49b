namespace OlaVlm.World;

/// Segmentation class ids: sky and floor first, then one id per shape class.
public enum SegClass : byte { Sky = 0, Floor = 1, Cube = 2, Sphere = 3, Cylinder = 4, Cone = 5 }

public enum ShapeKind { Cube, Sphere, Cylinder, Cone }

public enum SizeKind { Small, Large }

/// The world's small, regular vocabulary: shape, colour and size names with their render values.
public static class Shapes
{
    public static readonly ShapeKind[] All = [ShapeKind.Cube, ShapeKind.Sphere, ShapeKind.Cylinder, ShapeKind.Cone];

    public static SegClass Class(ShapeKind k) => (SegClass)(2 + (int)k);
    public static string Name(ShapeKind k) => k.ToString().ToLowerInvariant();
    public static string Plural(ShapeKind k) => Name(k) + "s";
    public static string Name(SizeKind s) => s == SizeKind.Small ? "small" : "large";
    public static string ClassName(SegClass c) => c.ToString().ToLowerInvariant();

    /// Half-extent (radius / half side) in metres. Every shape is as tall as it is wide (height = 2 * size).
    public static double HalfExtent(SizeKind s) => s == SizeKind.Small ? 0.35 : 0.55;

    public static readonly WorldColor[] Colors =
    [
        new("red", 200, 40, 40), new("green", 40, 170, 60), new("blue", 40, 70, 215),
        new("yellow", 230, 200, 40), new("purple", 140, 60, 180), new("cyan", 40, 190, 200),
    ];

    public static WorldColor Color(string name) =>
        Colors.FirstOrDefault(c => c.Name == name) ?? throw new ArgumentException($"unknown colour '{name}'", nameof(name));
}

public sealed record WorldColor(string Name, byte R, byte G, byte B);
