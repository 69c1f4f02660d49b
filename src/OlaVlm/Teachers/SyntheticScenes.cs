using static TorchSharp.torch;

namespace OlaVlm.Teachers;

/// Simple labelled scenes for teacher tests and benchmarks (a stand-in until the world generator is
/// wired in): sky above a horizon, a floor whose depth grows towards the horizon, and 1–3 front-facing
/// rectangles of shape classes 2..K-1 drawn far to near. Colour encodes the class, brightness and size
/// fall with depth, so depth and class are learnable from the picture. Images normalised to [-1, 1].
public static class SyntheticScenes
{
    public const float SkyDepth = 60f;

    public static TeacherData Generate(int count, int size = 64, int numClasses = 8, int seed = 0)
    {
        if (numClasses < 3) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "need sky, floor and at least one shape class");
        var rng = new Random(seed);
        int hw = size * size;
        var img = new float[count * 3 * hw]; var depth = new float[count * hw]; var seg = new long[count * hw];
        var palette = Enumerable.Range(0, numClasses).Select(c => Hue(c / (float)numClasses)).ToArray();
        for (int n = 0; n < count; n++)
        {
            int horizon = size / 3 + rng.Next(size / 4);
            float skyTint = (float)rng.NextDouble() * 0.2f, floorTint = (float)rng.NextDouble() * 0.2f;
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                {
                    int p = y * size + x;
                    bool sky = y < horizon;
                    float d = sky ? SkyDepth : Math.Min(SkyDepth, 2f + 30f / (y - horizon + 1));
                    float shade = sky ? 0.9f - 0.4f * y / horizon : 0.25f + 0.5f * (y - horizon) / (size - horizon);
                    Set(img, n, p, hw, sky ? [0.3f + skyTint, 0.5f + skyTint, shade] : [shade + floorTint, shade * 0.8f, shade * 0.6f]);
                    depth[n * hw + p] = d; seg[n * hw + p] = sky ? 0 : 1;
                }
            int shapes = 1 + rng.Next(3);
            var ds = Enumerable.Range(0, shapes).Select(_ => 2.5f + 10f * (float)rng.NextDouble()).OrderDescending().ToArray();
            foreach (var d in ds)
            {
                int cls = 2 + rng.Next(numClasses - 2);
                int w = Math.Clamp((int)(size * 2.5f / d), 3, size / 2), h = Math.Clamp((int)(w * (0.6 + rng.NextDouble())), 3, size / 2);
                int x0 = rng.Next(size - w), y0 = rng.Next(size - h);
                float bright = 1.1f - d / 15f;
                var c = palette[cls].Select(v => v * bright).ToArray();
                for (int y = y0; y < y0 + h; y++)
                    for (int x = x0; x < x0 + w; x++)
                    {
                        int p = y * size + x;
                        Set(img, n, p, hw, c); depth[n * hw + p] = d; seg[n * hw + p] = cls;
                    }
            }
        }
        for (int i = 0; i < img.Length; i++) img[i] = img[i] * 2 - 1;
        return new TeacherData(tensor(img, [count, 3, size, size]), tensor(depth, [count, size, size]), tensor(seg, [count, size, size]));
    }

    /// (id, [3, H, W]) pairs for TargetCache.Build; ids are "<prefix><row>".
    public static IEnumerable<(string ImageId, Tensor Image)> WithIds(Tensor images, string prefix = "img")
    {
        for (long i = 0; i < images.shape[0]; i++) yield return ($"{prefix}{i}", images[i]);
    }

    static void Set(float[] img, int n, int p, int hw, float[] rgb)
    {
        for (int c = 0; c < 3; c++) img[(n * 3 + c) * hw + p] = rgb[c];
    }

    static float[] Hue(float h)
    {
        float r = Math.Abs(h * 6 - 3) - 1, g = 2 - Math.Abs(h * 6 - 2), b = 2 - Math.Abs(h * 6 - 4);
        return [Math.Clamp(r, 0.1f, 1), Math.Clamp(g, 0.1f, 1), Math.Clamp(b, 0.1f, 1)];
    }
}
