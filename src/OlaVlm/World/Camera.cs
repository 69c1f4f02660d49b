namespace OlaVlm.World;

/// A pinhole camera at (0, height, 0) looking along +z, pitched down so the floor fills the lower image
/// and the sky the upper part. Pixel (px, py) has its centre at (px + 0.5, py + 0.5).
///
/// Rays are built with a camera-space z component of exactly 1, so the ray parameter t of a hit IS the
/// camera-space depth of that point: depth maps need no extra projection.
public sealed class Camera
{
    public int Width { get; }
    public int Height { get; }
    public Vec3 Origin { get; }
    public Vec3 Right { get; }
    public Vec3 Up { get; }
    public Vec3 Forward { get; }
    /// Focal length in pixels.
    public double Focal { get; }

    public Camera(int width, int height, double cameraHeight, double pitchDegrees, double fovDegrees)
    {
        Width = width; Height = height;
        Origin = new Vec3(0, cameraHeight, 0);
        double p = pitchDegrees * Math.PI / 180;
        Forward = new Vec3(0, -Math.Sin(p), Math.Cos(p));
        Up = new Vec3(0, Math.Cos(p), Math.Sin(p));
        Right = new Vec3(1, 0, 0);
        Focal = (height / 2.0) / Math.Tan(fovDegrees * Math.PI / 360);
    }

    public static Camera From(WorldConfig c) => new(c.ImageSize, c.ImageSize, c.CameraHeight, c.PitchDegrees, c.FovDegrees);

    /// Direction through a pixel centre (not unit length: its camera-space z is 1).
    public Vec3 RayDirection(int px, int py)
    {
        double a = (px + 0.5 - Width / 2.0) / Focal;
        double b = -(py + 0.5 - Height / 2.0) / Focal;
        return a * Right + b * Up + Forward;
    }

    /// Camera-space depth (distance along the optical axis) of a world point.
    public double DepthOf(Vec3 p) => (p - Origin).Dot(Forward);

    /// Continuous image coordinates (u to the right, v down) of a world point in front of the camera.
    public (double U, double V) Project(Vec3 p)
    {
        var q = p - Origin;
        double z = q.Dot(Forward);
        return (Width / 2.0 + Focal * q.Dot(Right) / z, Height / 2.0 - Focal * q.Dot(Up) / z);
    }

    /// Image row (continuous) of the horizon: where floor points at infinity land.
    public double HorizonV => Project(Origin + new Vec3(0, 0, 1e9)).V;
}
