namespace OlaVlm.World;

/// A plain double-precision 3-vector (world units are metres; y is up, z points away from the camera).
public readonly record struct Vec3(double X, double Y, double Z)
{
    public static Vec3 operator +(Vec3 a, Vec3 b) => new(a.X + b.X, a.Y + b.Y, a.Z + b.Z);
    public static Vec3 operator -(Vec3 a, Vec3 b) => new(a.X - b.X, a.Y - b.Y, a.Z - b.Z);
    public static Vec3 operator *(double s, Vec3 a) => new(s * a.X, s * a.Y, s * a.Z);
    public double Dot(Vec3 b) => X * b.X + Y * b.Y + Z * b.Z;
    [System.Text.Json.Serialization.JsonIgnore] public double Length => Math.Sqrt(Dot(this));
    public Vec3 Normalized() { var l = Length; return l > 0 ? (1 / l) * this : this; }
}
