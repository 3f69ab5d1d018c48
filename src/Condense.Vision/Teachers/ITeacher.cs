using static TorchSharp.torch;

namespace Condense.Vision.Teachers;

/// <summary>
/// What a frozen teacher says about a batch of images: a summary vector per image (like a CLS token or pooled
/// embedding) and/or a spatial feature map. Either may be absent (a handcrafted dense teacher has no summary).
/// </summary>
/// <param name="Summary">(B, Cs) float32, or null.</param>
/// <param name="Features">(B, Cf, h, w) float32, or null.</param>
public sealed record TeacherOutput(Tensor? Summary, Tensor? Features);

/// <summary>
/// A frozen teacher for agglomerative distillation (AM-RADIO). Every teacher takes the same input, RGB images in
/// [0, 1] as (B, 3, H, W) float32 at any size, and does its own preprocessing (resize to its input size, channel
/// order, scaling, mean/std), so the distillation loop can treat ONNX models, TorchSharp models and handcrafted
/// features alike. Forward runs without gradients; returned tensors live in the caller's dispose scope.
/// </summary>
public interface ITeacher : IDisposable
{
    /// <summary>Short unique name, used for adaptor names, loss labels and the cache ("resnet18", "hog").</summary>
    string Name { get; }

    /// <summary>
    /// Changes whenever the teacher's outputs could change (weights file contents, input size, preprocessing,
    /// chosen outputs). The teacher cache keys on it, so stale entries are never reused.
    /// </summary>
    string Fingerprint { get; }

    /// <summary>The square resolution the teacher runs at; inputs are resized to it.</summary>
    int InputSize { get; }

    /// <summary>Width of <see cref="TeacherOutput.Summary"/>, or null when the teacher has no summary.</summary>
    int? SummaryDim { get; }

    /// <summary>Channels of <see cref="TeacherOutput.Features"/>, or null when the teacher has no spatial output.</summary>
    int? FeatureDim { get; }

    /// <summary>Side of the feature map at <see cref="InputSize"/> (e.g. 7 for a stride-32 CNN at 224), or null.</summary>
    int? FeatureGrid { get; }

    /// <summary>Runs the teacher on (B, 3, H, W) RGB images in [0, 1].</summary>
    TeacherOutput Forward(Tensor images);
}
