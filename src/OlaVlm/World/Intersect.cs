namespace OlaVlm.World;

/// Exact ray/shape intersections. A ray is origin + t * dir with t > 0; each method returns the nearest
/// hit t (or +inf) and the outward surface normal there. Shapes stand on the floor at obj.Position.
public static class Intersect
{
    const double Eps = 1e-9;

    public static double Floor(Vec3 o, Vec3 d) => d.Y < -Eps ? -o.Y / d.Y : double.PositiveInfinity;

    public static double Object(SceneObject obj, Vec3 o, Vec3 d, out Vec3 normal) =>
        Object(obj, Math.Cos(obj.Yaw), Math.Sin(obj.Yaw), o, d, out normal);

    /// Same, with cos/sin of the object's yaw precomputed (the renderer calls this per pixel).
    public static double Object(SceneObject obj, double c, double s, Vec3 o, Vec3 d, out Vec3 normal)
    {
        // Work in the object's frame: footprint centre at the origin, rotated by -Yaw about y.
        var lo = o - obj.Position;
        var lo2 = new Vec3(c * lo.X - s * lo.Z, lo.Y, s * lo.X + c * lo.Z);
        var ld = new Vec3(c * d.X - s * d.Z, d.Y, s * d.X + c * d.Z);
        double t = obj.Shape switch
        {
            ShapeKind.Cube => Box(lo2, ld, obj.HalfExtent, out normal),
            ShapeKind.Sphere => Sphere(lo2, ld, obj.HalfExtent, out normal),
            ShapeKind.Cylinder => Cylinder(lo2, ld, obj.HalfExtent, out normal),
            ShapeKind.Cone => Cone(lo2, ld, obj.HalfExtent, out normal),
            _ => throw new ArgumentOutOfRangeException(nameof(obj), obj.Shape, "unknown shape"),
        };
        // Rotate the normal back by +Yaw.
        normal = new Vec3(c * normal.X + s * normal.Z, normal.Y, -s * normal.X + c * normal.Z);
        return t;
    }

    // Slab method on [-r, r] x [0, 2r] x [-r, r].
    static double Box(Vec3 o, Vec3 d, double r, out Vec3 n)
    {
        double tmin = double.NegativeInfinity, tmax = double.PositiveInfinity;
        int axis = -1; double sign = 0;
        Span<double> os = [o.X, o.Y, o.Z], ds = [d.X, d.Y, d.Z], lo = [-r, 0, -r], hi = [r, 2 * r, r];
        for (int i = 0; i < 3; i++)
        {
            if (Math.Abs(ds[i]) < Eps)
            {
                if (os[i] < lo[i] || os[i] > hi[i]) { n = default; return double.PositiveInfinity; }
                continue;
            }
            double t1 = (lo[i] - os[i]) / ds[i], t2 = (hi[i] - os[i]) / ds[i];
            double sg = -1;
            if (t1 > t2) { (t1, t2) = (t2, t1); sg = 1; }
            if (t1 > tmin) { tmin = t1; axis = i; sign = sg; }
            if (t2 < tmax) tmax = t2;
        }
        if (tmax < tmin || tmin <= Eps || axis < 0) { n = default; return double.PositiveInfinity; }
        n = axis == 0 ? new Vec3(sign, 0, 0) : axis == 1 ? new Vec3(0, sign, 0) : new Vec3(0, 0, sign);
        return tmin;
    }

    static double Sphere(Vec3 o, Vec3 d, double r, out Vec3 n)
    {
        var oc = o - new Vec3(0, r, 0);
        double a = d.Dot(d), b = 2 * oc.Dot(d), cc = oc.Dot(oc) - r * r;
        double disc = b * b - 4 * a * cc;
        if (disc < 0) { n = default; return double.PositiveInfinity; }
        double t = (-b - Math.Sqrt(disc)) / (2 * a);
        if (t <= Eps) { n = default; return double.PositiveInfinity; }
        n = (1 / r) * (oc + t * d);
        return t;
    }

    // Vertical cylinder of radius r, height 2r: side wall plus top cap (the bottom rests on the floor).
    static double Cylinder(Vec3 o, Vec3 d, double r, out Vec3 n)
    {
        double best = double.PositiveInfinity; n = default;
        double a = d.X * d.X + d.Z * d.Z, b = 2 * (o.X * d.X + o.Z * d.Z), c = o.X * o.X + o.Z * o.Z - r * r;
        double disc = b * b - 4 * a * c;
        if (a > Eps && disc >= 0)
        {
            double t = (-b - Math.Sqrt(disc)) / (2 * a);
            double y = o.Y + t * d.Y;
            if (t > Eps && y >= 0 && y <= 2 * r) { best = t; n = new Vec3((o.X + t * d.X) / r, 0, (o.Z + t * d.Z) / r); }
        }
        if (Math.Abs(d.Y) > Eps)
        {
            double t = (2 * r - o.Y) / d.Y;
            double x = o.X + t * d.X, z = o.Z + t * d.Z;
            if (t > Eps && t < best && x * x + z * z <= r * r) { best = t; n = new Vec3(0, 1, 0); }
        }
        return best;
    }

    // Upright cone: base radius r on the floor, apex at height 2r. Surface: x^2 + z^2 = k^2 (h - y)^2.
    static double Cone(Vec3 o, Vec3 d, double r, out Vec3 n)
    {
        n = default;
        double h = 2 * r, k = r / h, k2 = k * k, y0 = h - o.Y;
        double a = d.X * d.X + d.Z * d.Z - k2 * d.Y * d.Y;
        double b = 2 * (o.X * d.X + o.Z * d.Z + k2 * y0 * d.Y);
        double c = o.X * o.X + o.Z * o.Z - k2 * y0 * y0;
        double best = double.PositiveInfinity;
        if (Math.Abs(a) < Eps) { if (Math.Abs(b) > Eps) Try(-c / b); }
        else
        {
            double disc = b * b - 4 * a * c;
            if (disc < 0) return best;
            double sq = Math.Sqrt(disc);
            Try((-b - sq) / (2 * a)); Try((-b + sq) / (2 * a));
        }
        if (best < double.PositiveInfinity)
        {
            double x = o.X + best * d.X, y = o.Y + best * d.Y, z = o.Z + best * d.Z;
            n = new Vec3(x, k2 * (h - y), z).Normalized();
        }
        return best;

        void Try(double t)
        {
            double y = o.Y + t * d.Y;
            if (t > Eps && t < best && y >= 0 && y <= h) best = t;
        }
    }
}
