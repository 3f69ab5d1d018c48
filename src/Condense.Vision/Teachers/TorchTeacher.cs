// A frozen TorchSharp CNN (one of the Keras classifiers) as an AM-RADIO teacher (Ranzinger et al. 2024,
// "AM-RADIO: Agglomerative Vision Foundation Model", arXiv:2312.06709, section 3): the summary is the pooled
// penultimate feature vector (what the classifier's Dense reads) and the features are the last convolutional
// stage's spatial map, the CNN counterpart of a ViT teacher's summary token and patch tokens.
//
// Deviations: AM-RADIO's teachers are large ViTs; these are MLPerf Tiny CNNs whose summary is a global
// average rather than a CLS token. Any input size works (the convolutions are size-agnostic and the head
// pools globally); the feature grid is ceil(InputSize / stride).
using Condense.Core.IO;
using static TorchSharp.torch;

namespace Condense.Vision.Teachers;

/// <summary>An <see cref="ITeacher"/> over a <see cref="KerasClassifier"/>; owns and disposes the model.</summary>
public sealed class TorchTeacher : ITeacher
{
    private readonly KerasClassifier model;

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public string Fingerprint { get; }

    /// <inheritdoc />
    public int InputSize { get; }

    /// <inheritdoc />
    public int? SummaryDim => model.FeatureDim;

    /// <inheritdoc />
    public int? FeatureDim => model.FeatureDim;

    /// <inheritdoc />
    public int? FeatureGrid => (InputSize + model.FeatureStride - 1) / model.FeatureStride;

    /// <summary>Class names in the order of <see cref="Logits"/>.</summary>
    public IReadOnlyList<string> ClassNames => model.ClassNames;

    /// <param name="name">The teacher's name (adaptor and loss labels).</param>
    /// <param name="model">The model; this teacher takes ownership and switches it to eval mode.</param>
    /// <param name="inputSize">The square size images are resized to; default the model's native size.</param>
    public TorchTeacher(string name, KerasClassifier model, int? inputSize = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(model);
        if (inputSize is <= 0) throw new ArgumentOutOfRangeException(nameof(inputSize), "must be positive");
        (Name, this.model, InputSize) = (name, model, inputSize ?? model.NativeInputSize);
        model.eval();
        Fingerprint = TeacherFingerprint.Of(("teacher", nameof(TorchTeacher)), ("model", model.GetType().Name),
            ("weights_sha256", model.WeightsSha256), ("input_size", InputSize), ("padding", model.PaddingRule),
            ("input_scale", model.InputScale));
    }

    /// <summary>The MLPerf Tiny ResNet8 (CIFAR-10, 32 px); weights default to the shared export.</summary>
    public static TorchTeacher ResNet8Cifar10(string? weightsPath = null, int? inputSize = null,
        string name = TeacherRegistry.ResNet8Cifar10) =>
        new(name, KerasResNet8.Load(weightsPath ?? AssetPaths.Require(KerasResNet8.DefaultWeights)), inputSize);

    /// <summary>The MLPerf Tiny MobileNetV1-0.25 (VWW, 96 px); weights default to the shared export.</summary>
    public static TorchTeacher MobileNetV1Vww(string? weightsPath = null, int? inputSize = null,
        string name = TeacherRegistry.MobileNetV1Vww) =>
        new(name, KerasMobileNetV1.Load(weightsPath ?? AssetPaths.Require(KerasMobileNetV1.DefaultWeights)),
            inputSize);

    /// <inheritdoc />
    public TeacherOutput Forward(Tensor images)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var features = model.ForwardFeatures(Prepare(images));     // (B, C, g, g)
        var summary = KerasClassifier.Pool(features);              // (B, C)
        var (s, f) = scope.MoveToOuter(summary, features);
        return new TeacherOutput(s, f);
    }

    /// <summary>Class logits (B, classes) of (B, 3, H, W) RGB in [0, 1]; their softmax is the Keras output.</summary>
    public Tensor Logits(Tensor images)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return scope.MoveToOuter(model.call(Prepare(images)));
    }

    // (B, 3, H, W) in [0, 1] -> (B, 3, InputSize, InputSize) in the model's pixel range.
    private Tensor Prepare(Tensor images) => TeacherImages.Resize(images, InputSize) * model.InputScale;

    /// <inheritdoc />
    public void Dispose() => model.Dispose();
}
