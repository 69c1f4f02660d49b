using System.Text.Json.Serialization;

namespace OlaVlm.World;

/// Axis-aligned pixel box: X0/Y0 inclusive, X1/Y1 exclusive.
public readonly record struct Box2D(int X0, int Y0, int X1, int Y1)
{
    [JsonIgnore] public double CenterX => (X0 + X1) / 2.0;
    [JsonIgnore] public double CenterY => (Y0 + Y1) / 2.0;
}

/// One object of the scene graph. Position is the centre of its footprint on the floor (y = 0);
/// Center is its 3D centre (half its height up), which depth and distance questions use.
public sealed record SceneObject(
    ShapeKind Shape, string Color, SizeKind Size, Vec3 Position, double Yaw, double HalfExtent)
{
    public Box2D Box { get; init; }
    public int VisiblePixels { get; init; }
    /// Camera-space depth of Center.
    public double Depth { get; init; }

    [JsonIgnore] public Vec3 Center => Position + new Vec3(0, HalfExtent, 0);
    [JsonIgnore] public double Height => 2 * HalfExtent;
    [JsonIgnore] public string Name => $"{Color} {Shapes.Name(Shape)}";
    public double DistanceTo(SceneObject o) => (Center - o.Center).Length;
}

/// A rendered scene: the object list plus exact per-pixel buffers, row-major, top row first.
public sealed class Scene
{
    public required string Id { get; init; }
    public required ulong Seed { get; init; }
    public required int Width { get; init; }
    public required int Height { get; init; }
    public required IReadOnlyList<SceneObject> Objects { get; init; }
    /// Colour image, 3 bytes per pixel.
    public required byte[] Rgb { get; init; }
    /// Camera-space depth of the front-most surface; sky and the far floor are clamped to FarDepth.
    public required float[] Depth { get; init; }
    /// SegClass id of the front-most surface.
    public required byte[] Seg { get; init; }
    /// 0 = sky/floor, i + 1 = Objects[i]: which object each pixel shows.
    public required byte[] Instance { get; init; }

    public int CountOf(ShapeKind k) => Objects.Count(o => o.Shape == k);
}
