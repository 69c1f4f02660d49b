using OlaVlm.World;

namespace OlaVlm.Tests.World;

/// An independent re-render of single pixels, written apart from the library's Renderer/Intersect:
/// its own camera maths and its own intersection formulas (faces-and-containment for cubes, geometric
/// sphere test, cone via the half-angle form). Used to check that depth and segmentation are exactly the
/// front-most surface.
static class RayOracle
{
    public record Hit(byte Class, double Depth, int Object, double Margin);

    public static Hit Cast(WorldConfig c, IReadOnlyList<SceneObject> objects, int px, int py)
    {
        int n = c.ImageSize;
        double pitch = c.PitchDegrees * Math.PI / 180, f = n / 2.0 / Math.Tan(c.FovDegrees * Math.PI / 360);
        double a = (px + 0.5 - n / 2.0) / f, b = (n / 2.0 - py - 0.5) / f;
        // camera basis: right (1,0,0), up (0,cos,sin), forward (0,-sin,cos); direction = a*right + b*up + forward
        double dx = a, dy = b * Math.Cos(pitch) - Math.Sin(pitch), dz = b * Math.Sin(pitch) + Math.Cos(pitch);
        double ox = 0, oy = c.CameraHeight, oz = 0;

        var ts = new List<(double T, byte Cls, int Obj)>();
        if (dy < 0) ts.Add((oy / -dy, 1, -1));
        for (int k = 0; k < objects.Count; k++)
        {
            var o = objects[k];
            double t = o.Shape switch
            {
                ShapeKind.Sphere => SphereT(ox - o.Position.X, oy - o.HalfExtent, oz - o.Position.Z, dx, dy, dz, o.HalfExtent),
                ShapeKind.Cube => CubeT(o, ox, oy, oz, dx, dy, dz),
                ShapeKind.Cylinder => CylT(ox - o.Position.X, oy, oz - o.Position.Z, dx, dy, dz, o.HalfExtent),
                _ => ConeT(ox - o.Position.X, oy, oz - o.Position.Z, dx, dy, dz, o.HalfExtent),
            };
            if (!double.IsNaN(t)) ts.Add((t, (byte)(2 + (int)o.Shape), k));
        }
        if (ts.Count == 0) return new Hit(0, c.FarDepth, -1, double.PositiveInfinity);
        ts.Sort((p, q) => p.T.CompareTo(q.T));
        double margin = ts.Count > 1 ? ts[1].T - ts[0].T : double.PositiveInfinity;
        return new Hit(ts[0].Cls, Math.Min(ts[0].T, c.FarDepth), ts[0].Obj, margin);
    }

    // Geometric method: closest approach of the ray to the centre.
    static double SphereT(double ox, double oy, double oz, double dx, double dy, double dz, double r)
    {
        double len = Math.Sqrt(dx * dx + dy * dy + dz * dz);
        double ux = dx / len, uy = dy / len, uz = dz / len;
        double tc = -(ox * ux + oy * uy + oz * uz);
        double d2 = ox * ox + oy * oy + oz * oz - tc * tc;
        if (d2 > r * r || tc <= 0) return double.NaN;
        return (tc - Math.Sqrt(r * r - d2)) / len;
    }

    // Six face planes; a hit counts if the point lies within the face.
    static double CubeT(SceneObject o, double ox, double oy, double oz, double dx, double dy, double dz)
    {
        double c = Math.Cos(o.Yaw), s = Math.Sin(o.Yaw), r = o.HalfExtent;
        double lx = ox - o.Position.X, lz = oz - o.Position.Z;
        double px = c * lx - s * lz, pz = s * lx + c * lz, py = oy;
        double vx = c * dx - s * dz, vz = s * dx + c * dz, vy = dy;
        double best = double.NaN;
        void Face(double p0, double v, double plane, Func<double, bool> inside)
        {
            if (Math.Abs(v) < 1e-12) return;
            double t = (plane - p0) / v;
            if (t > 0 && inside(t) && (double.IsNaN(best) || t < best)) best = t;
        }
        const double e = 1e-9;
        bool InX(double t) => Math.Abs(px + t * vx) <= r + e;
        bool InZ(double t) => Math.Abs(pz + t * vz) <= r + e;
        bool InY(double t) { double y = py + t * vy; return y >= -e && y <= 2 * r + e; }
        Face(px, vx, r, t => InY(t) && InZ(t)); Face(px, vx, -r, t => InY(t) && InZ(t));
        Face(pz, vz, r, t => InY(t) && InX(t)); Face(pz, vz, -r, t => InY(t) && InX(t));
        Face(py, vy, 2 * r, t => InX(t) && InZ(t));
        return best;
    }

    static double CylT(double ox, double oy, double oz, double dx, double dy, double dz, double r)
    {
        double best = double.NaN;
        double A = dx * dx + dz * dz, B = ox * dx + oz * dz, C = ox * ox + oz * oz - r * r;
        double disc = B * B - A * C;
        if (disc >= 0 && A > 0)
        {
            double t = (-B - Math.Sqrt(disc)) / A, y = oy + t * dy;
            if (t > 0 && y >= 0 && y <= 2 * r) best = t;
        }
        double tc = (2 * r - oy) / dy;
        double cx = ox + tc * dx, cz = oz + tc * dz;
        if (tc > 0 && cx * cx + cz * cz <= r * r && (double.IsNaN(best) || tc < best)) best = tc;
        return best;
    }

    // Cone with apex A = (0, 2r, 0), axis pointing down, cos^2 of half-angle = h^2 / (h^2 + r^2).
    static double ConeT(double ox, double oy, double oz, double dx, double dy, double dz, double r)
    {
        double h = 2 * r, cos2 = h * h / (h * h + r * r);
        double cox = ox, coy = oy - h, coz = oz;           // apex to origin
        double dv = -dy, cov = -coy;                        // projections on axis v = (0,-1,0)
        double dd = dx * dx + dy * dy + dz * dz, cd = cox * dx + coy * dy + coz * dz, cc = cox * cox + coy * coy + coz * coz;
        double A = dv * dv - cos2 * dd, B = 2 * (dv * cov - cos2 * cd), C = cov * cov - cos2 * cc;
        var roots = new List<double>();
        if (Math.Abs(A) < 1e-12) { if (Math.Abs(B) > 1e-12) roots.Add(-C / B); }
        else
        {
            double disc = B * B - 4 * A * C;
            if (disc < 0) return double.NaN;
            roots.Add((-B - Math.Sqrt(disc)) / (2 * A)); roots.Add((-B + Math.Sqrt(disc)) / (2 * A));
        }
        double best = double.NaN;
        foreach (var t in roots)
        {
            double y = oy + t * dy;
            if (t > 0 && y >= 0 && y <= h && (double.IsNaN(best) || t < best)) best = t;
        }
        return best;
    }
}
