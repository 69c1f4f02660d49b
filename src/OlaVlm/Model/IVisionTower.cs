using static TorchSharp.torch;

namespace OlaVlm.Model;

/// What LLaVA asks of a vision tower: pixels [B, C, ImageSize, ImageSize] → NumTokens features of HiddenSize
/// each, [B, NumTokens, HiddenSize], the width mm_projector reads (mm_hidden_size). ClipVisionModel (CLIP
/// ViT, select layer −2) and ClipConvNextVisionTower (OpenCLIP ConvNeXt, last stage) are the paper's two.
public interface IVisionTower
{
    int ImageSize { get; }
    int HiddenSize { get; }
    int NumTokens { get; }
    Tensor forward(Tensor pixels);
}
