using OlaVlm.Core;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace OlaVlm.Teachers.DepthAnything;

/// The pixels OLA-VLM feeds Depth-Anything-V2 (base_ola_vlm.py `_get_dav2_feats` → dpt.py `image2tensor`):
///  1. PIL `img.resize((336, 336))` (bicubic, Pillow's antialiasing when shrinking; PilResize);
///  2. `cv2.cvtColor(raw, COLOR_BGR2RGB)` — the reference hands an RGB array to code written for cv2.imread's BGR,
///     so this SWAPS red and blue: the network sees B, G, R in its R, G, B slots. Reproduced on purpose (the targets
///     are what that network computes); SwapRedBlue = false gives the colour order the weights were trained on;
///  3. / 255, then ImageNet mean / std (float64, as numpy computes), then float32;
///  4. cv2's resize to a multiple of 14 at least `size` (lower_bound, keep aspect): a no-op for a square multiple of 14.
public static class Dav2Preprocessing
{
    public static readonly double[] Mean = [0.485, 0.456, 0.406];
    public static readonly double[] Std = [0.229, 0.224, 0.225];

    /// images → [B, 3, size, size] float32 on `device`.
    public static Tensor FromImages(IReadOnlyList<Image<Rgb24>> images, int size = 336, bool swapRedBlue = true, Device? device = null)
    {
        if (size <= 0 || size % 14 != 0)
            throw new ArgumentException($"Dav2Preprocessing: size {size} must be a positive multiple of 14 (otherwise image2tensor's cv2 resize would change it)");
        var data = new float[images.Count * 3 * size * size];
        int plane = size * size;
        for (int b = 0; b < images.Count; b++)
        {
            var rgb = PilResize.Bicubic(images[b], size, size);
            for (int p = 0; p < plane; p++)
                for (int c = 0; c < 3; c++)
                {
                    int src = swapRedBlue ? 2 - c : c;
                    data[(b * 3 + c) * plane + p] = (float)((rgb[p * 3 + src] / 255.0 - Mean[c]) / Std[c]);
                }
        }
        return tensor(data, [images.Count, 3, size, size], device: device ?? Core.Devices.Default);
    }
}
