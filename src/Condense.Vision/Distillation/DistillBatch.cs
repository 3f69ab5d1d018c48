using static TorchSharp.torch;

namespace Condense.Vision.Distillation;

/// <summary>One distillation step's input: the dataset indices (teacher cache keys) and the student's view.</summary>
/// <param name="Indices">Dataset indices of the images in the batch.</param>
/// <param name="StudentImages">(B, 3, R, R) RGB in [0, 1] at the student's resolution.</param>
public sealed record DistillBatch(int[] Indices, Tensor StudentImages) : IDisposable
{
    public void Dispose() => StudentImages.Dispose();
}
