namespace OlaVlm.World;

/// Ray-casts a scene: one ray per pixel centre, the nearest hit over floor and objects wins. That nearest-t
/// test is a per-pixel z-buffer with exact depths, so colour, depth, class and instance always agree on the
/// front-most surface (no painter's-order artefacts).
public static class Renderer
{
    static readonly Vec3 Light = new Vec3(-0.4, 1.0, -0.5).Normalized();
    const double Ambient = 0.3;

    public static Scene Render(string id, ulong seed, Camera cam, IReadOnlyList<SceneObject> objects, float farDepth)
    {
        int w = cam.Width, h = cam.Height, n = w * h;
        var rgb = new byte[n * 3];
        var depth = new float[n];
        var seg = new byte[n];
        var inst = new byte[n];
        var boxes = objects.Select(o => ScreenBounds(cam, o)).ToArray();
        var cos = objects.Select(o => Math.Cos(o.Yaw)).ToArray();
        var sin = objects.Select(o => Math.Sin(o.Yaw)).ToArray();
        var colors = objects.Select(o => Shapes.Color(o.Color)).ToArray();
        double horizon = cam.HorizonV;

        for (int py = 0; py < h; py++)
        for (int px = 0; px < w; px++)
        {
            int i = py * w + px;
            var d = cam.RayDirection(px, py);
            double best = Intersect.Floor(cam.Origin, d);
            int hitObj = -1; Vec3 normal = default;
            for (int k = 0; k < objects.Count; k++)
            {
                var b = boxes[k];
                if (px < b.X0 || px >= b.X1 || py < b.Y0 || py >= b.Y1) continue;
                double t = Intersect.Object(objects[k], cos[k], sin[k], cam.Origin, d, out var nk);
                if (t < best) { best = t; hitObj = k; normal = nk; }
            }
            byte r, g, bl;
            if (hitObj >= 0)
            {
                var o = objects[hitObj];
                var c = colors[hitObj];
                double shade = Ambient + (1 - Ambient) * Math.Max(0, normal.Dot(Light));
                (r, g, bl) = (Scale(c.R, shade), Scale(c.G, shade), Scale(c.B, shade));
                seg[i] = (byte)Shapes.Class(o.Shape);
                inst[i] = (byte)(hitObj + 1);
                depth[i] = (float)Math.Min(best, farDepth);
            }
            else if (double.IsFinite(best))
            {
                var p = cam.Origin + best * d;
                bool dark = ((int)Math.Floor(p.X) + (int)Math.Floor(p.Z) & 1) == 0;
                double fog = Math.Min(1, best / farDepth);
                (r, g, bl) = Blend(dark ? (118, 112, 104) : (150, 144, 134), SkyAt(horizon, horizon, h), fog);
                seg[i] = (byte)SegClass.Floor;
                depth[i] = (float)Math.Min(best, farDepth);
            }
            else
            {
                (r, g, bl) = SkyAt(py + 0.5, horizon, h);
                seg[i] = (byte)SegClass.Sky;
                depth[i] = farDepth;
            }
            rgb[3 * i] = r; rgb[3 * i + 1] = g; rgb[3 * i + 2] = bl;
        }

        return new Scene
        {
            Id = id, Seed = seed, Width = w, Height = h, Rgb = rgb, Depth = depth, Seg = seg, Instance = inst,
            Objects = objects.Select((o, k) => Annotate(o, k, cam, inst, w, h)).ToList(),
        };
    }

    /// Conservative pixel box of an object: projection of its bounding prism's corners, clamped to the image.
    public static Box2D ScreenBounds(Camera cam, SceneObject o)
    {
        double rad = o.Shape == ShapeKind.Cube ? o.HalfExtent * Math.Sqrt(2) : o.HalfExtent;
        double u0 = double.MaxValue, v0 = double.MaxValue, u1 = double.MinValue, v1 = double.MinValue;
        foreach (var dx in new[] { -rad, rad })
        foreach (var dz in new[] { -rad, rad })
        foreach (var y in new[] { 0, o.Height })
        {
            var (u, v) = cam.Project(o.Position + new Vec3(dx, y, dz));
            u0 = Math.Min(u0, u); u1 = Math.Max(u1, u); v0 = Math.Min(v0, v); v1 = Math.Max(v1, v);
        }
        return new Box2D(
            Math.Clamp((int)Math.Floor(u0) - 1, 0, cam.Width), Math.Clamp((int)Math.Floor(v0) - 1, 0, cam.Height),
            Math.Clamp((int)Math.Ceiling(u1) + 1, 0, cam.Width), Math.Clamp((int)Math.Ceiling(v1) + 1, 0, cam.Height));
    }

    static SceneObject Annotate(SceneObject o, int k, Camera cam, byte[] inst, int w, int h)
    {
        int count = 0, x0 = w, y0 = h, x1 = 0, y1 = 0;
        for (int py = 0; py < h; py++)
        for (int px = 0; px < w; px++)
        {
            if (inst[py * w + px] != k + 1) continue;
            count++;
            x0 = Math.Min(x0, px); y0 = Math.Min(y0, py); x1 = Math.Max(x1, px + 1); y1 = Math.Max(y1, py + 1);
        }
        return o with
        {
            VisiblePixels = count,
            Box = count > 0 ? new Box2D(x0, y0, x1, y1) : default,
            Depth = Math.Round(cam.DepthOf(o.Center), 6),
        };
    }

    static (byte, byte, byte) SkyAt(double v, double horizon, int h)
    {
        double s = Math.Clamp(v / Math.Max(1, horizon), 0, 1);   // 0 at the top, 1 at the horizon
        return ((byte)(150 + 70 * s), (byte)(185 + 45 * s), (byte)(235 + 10 * s));
    }

    static (byte, byte, byte) Blend((int R, int G, int B) a, (byte R, byte G, byte B) b, double f) =>
        ((byte)Math.Round(a.R + (b.R - a.R) * f), (byte)Math.Round(a.G + (b.G - a.G) * f), (byte)Math.Round(a.B + (b.B - a.B) * f));

    static byte Scale(byte c, double s) => (byte)Math.Clamp(Math.Round(c * s), 0, 255);
}
