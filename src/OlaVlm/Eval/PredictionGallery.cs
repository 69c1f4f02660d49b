using OlaVlm.Data;
using OlaVlm.Ola;
using OlaVlm.Teachers;
using OlaVlm.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace OlaVlm.Eval;

/// One picture with its caption ("ground truth", "teacher", "L3 prediction").
public sealed record GalleryCell(string Label, Image<Rgb24> Picture);

/// One val image × one task: the image, the world's ground truth, the teacher's own output (Decode of the
/// true target) and the teacher's decoding of each layer's predicted embedding.
public sealed record GalleryRow(string ImageKey, OlaTask Task, IReadOnlyList<GalleryCell> Cells);

/// What the LLM's intermediate layers "know": each OLA predictor's output decoded by its teacher's head
/// (depth map, class map, regenerated image) beside the teacher's decoding of the real target and the
/// ground truth. A layer whose picture resembles the teacher's carries that visual information.
public static class PredictionGallery
{
    /// `count` image samples of `val` (first ones, in order); teachers by task; layers default to all.
    public static IReadOnlyList<GalleryRow> Build(OlaVlmModel model, WorldData world, string split, ConversationData val,
                                                  IReadOnlyDictionary<OlaTask, ITeacher> teachers, int count = 3, Device? device = null)
    {
        if (model.Heads is null) throw new ArgumentException("PredictionGallery: the model has no OLA heads (baseline)");
        device ??= Core.Devices.Default;
        var picks = Enumerable.Range(0, val.Count).Where(i => val.Source.Records[i].HasImage).Take(count).ToList();
        if (picks.Count == 0) throw new ArgumentException($"PredictionGallery: {val.Source.File} has no image samples");
        var batch = val.Batch(picks);
        var scenes = world.Scenes(split).ToDictionary(s => s.Image);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        using var fw = model.forward(val.Pixels(batch, device), batch.Samples, predict: true);
        var rows = new List<GalleryRow>();
        var teacherPixels = val.Images.Pixels(batch.ImageRows, CPU, WorldTeachers.TeacherNorm);
        for (int i = 0; i < picks.Count; i++)
        {
            var key = batch.ImageKeys[i];
            if (!scenes.TryGetValue(key, out var scene)) throw new KeyNotFoundException($"PredictionGallery: no scene of split '{split}' has image '{key}'");
            foreach (var task in model.Heads.Config.Tasks)
            {
                if (!teachers.TryGetValue(task, out var teacher)) continue;
                var cells = new List<GalleryCell> { new("image", world.Image(scene)) };
                cells.Add(new("ground truth", GroundTruth(world, scene, task)));
                var target = teacher.Encode(teacherPixels[i].unsqueeze(0).to(teacher.Device));
                cells.Add(new("teacher", Picture(task, teacher.Decode(target))));
                foreach (var layer in model.Heads.Layers(task))
                    cells.Add(new($"L{layer} prediction", Picture(task, teacher.Decode(fw.Heads!.Predictions[(task, layer)][i].unsqueeze(0)))));
                rows.Add(new GalleryRow(key, task, cells));
            }
        }
        return rows;
    }

    static Image<Rgb24> GroundTruth(WorldData world, SceneRecord scene, OlaTask task)
    {
        using var img = world.Image(scene);
        return task switch
        {
            OlaTask.Depth => Colormaps.Depth(world.Depth(scene), img.Width, img.Height),
            OlaTask.Seg => Colormaps.Segmentation(world.Seg(scene), img.Width, img.Height),
            _ => img.CloneAs<Rgb24>(),
        };
    }

    /// A teacher's Decode output for one image → picture. Depth [1,H,W]; Seg logits [1,K,H,W] (argmax);
    /// Gen [1,3,H,W] in teacher normalisation ([-1, 1]).
    public static Image<Rgb24> Picture(OlaTask task, Tensor? decoded)
    {
        if (decoded is null) throw new ArgumentException($"PredictionGallery: the {task.Name()} teacher has no decoder");
        var d = decoded.detach().cpu().to(float32);
        switch (task)
        {
            case OlaTask.Depth:
            {
                int h = (int)d.shape[^2], w = (int)d.shape[^1];
                return Colormaps.Depth(d.reshape(h * w).data<float>().ToArray(), w, h);
            }
            case OlaTask.Seg:
            {
                int h = (int)d.shape[^2], w = (int)d.shape[^1];
                var cls = d[0].argmax(0).to(ScalarType.Byte).reshape(h * w).data<byte>().ToArray();
                return Colormaps.Segmentation(cls, w, h);
            }
            default:
            {
                var rgb = ((d[0] + 1) * 127.5).clamp(0, 255).to(ScalarType.Byte).permute(1, 2, 0).contiguous();
                int h = (int)rgb.shape[0], w = (int)rgb.shape[1];
                return Image.LoadPixelData<Rgb24>(rgb.data<byte>().ToArray(), w, h);
            }
        }
    }

    /// All cells of a row side by side (for one <img> per row in a notebook).
    public static Image<Rgb24> Strip(GalleryRow row, int cell = 96) =>
        Colormaps.Montage(row.Cells.Select(c => c.Picture).ToList(), row.Cells.Count, cell);
}
