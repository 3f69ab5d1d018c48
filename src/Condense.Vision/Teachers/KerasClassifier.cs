// What the two MLPerf Tiny Keras classifiers share: a convolutional trunk ending in a ReLU feature map, then
// AveragePooling2D over that whole map, Flatten and a softmax Dense. The subclasses build the trunk from the
// Keras config; this class owns the head and the input conventions.
//
// Deviations from the Keras models:
// - NCHW tensors (Keras is NHWC); the caller scales the input (ResNet8: 0..255, MobileNetV1: 0..1).
// - The head pools with a global average instead of the fixed AveragePooling2D window. At the native input
//   size the window covers the whole map (checked at load), so both give the same 1x1 map and Flatten's NHWC
//   order is moot; at other sizes the global average keeps the head defined.
// - Logits are returned before the Dense layer's softmax.
using Condense.Core;
using Condense.Core.Runtime;
using static TorchSharp.torch;

namespace Condense.Vision.Teachers;

/// <summary>A frozen Keras CNN classifier: trunk features, pooled summary and class logits.</summary>
public abstract class KerasClassifier : nn.Module<Tensor, Tensor>
{
    private readonly KerasDense head;

    /// <summary>Side of the square input the Keras model was built for (its InputLayer).</summary>
    public int NativeInputSize { get; }

    /// <summary>Total stride of the trunk: the feature map side is ceil(input / FeatureStride).</summary>
    public int FeatureStride { get; }

    /// <summary>Channels of the trunk's last feature map, also the width of the pooled summary.</summary>
    public int FeatureDim { get; }

    /// <summary>The model expects pixels in [0, InputScale] (255 or 1).</summary>
    public float InputScale { get; }

    /// <summary>Class names in logit order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>How the convolutions pad for padding='same' (TensorFlow unless measuring a naive port).</summary>
    public KerasPaddingRule PaddingRule { get; }

    /// <summary>SHA-256 of the weights file it was loaded from.</summary>
    public string WeightsSha256 { get; }

    /// <summary>Reads the input size from the Keras config, checks the pooling and builds the Dense head; the subclass builds the trunk.</summary>
    /// <param name="name">Module name.</param>
    /// <param name="weights">The Keras weights and config.</param>
    /// <param name="featureStride">Total stride of the trunk.</param>
    /// <param name="featureDim">Channels of the trunk's last feature map.</param>
    /// <param name="inputScale">Pixel range the model expects: 255 or 1.</param>
    /// <param name="classNames">Class names in logit order.</param>
    /// <param name="lastFeatureLayer">Keras name of the trunk's last layer, which the AveragePooling2D reads.</param>
    /// <param name="paddingRule">How the convolutions pad for padding='same'.</param>
    protected KerasClassifier(string name, KerasWeights weights, int featureStride, int featureDim,
        float inputScale, IReadOnlyList<string> classNames, string lastFeatureLayer, KerasPaddingRule paddingRule)
        : base(name)
    {
        TorchRuntime.EnsureLoaded();   // libtorch's kernel settings (NativeKernels) before the first forward
        PaddingRule = paddingRule;
        (FeatureStride, FeatureDim, InputScale, ClassNames) = (featureStride, featureDim, inputScale, classNames);
        WeightsSha256 = weights.Sha256;
        var config = weights.Config;

        var input = config.Layer("input_1", "InputLayer");
        var shape = input.Config.GetProperty("batch_input_shape").EnumerateArray()
            .Select(e => e.ValueKind == System.Text.Json.JsonValueKind.Null ? -1 : e.GetInt32()).ToArray();
        if (shape.Length != 4 || shape[1] != shape[2] || shape[3] != 3)
            throw new InputException($"{weights.Path}: input shape [{string.Join(", ", shape)}] is not (N, S, S, 3)");
        NativeInputSize = shape[1];

        var pool = config.Layer("average_pooling2d", "AveragePooling2D", lastFeatureLayer);
        var grid = (NativeInputSize + featureStride - 1) / featureStride;
        if (pool.SquarePair("pool_size") != grid || pool.String("padding") != "valid")
            throw new InputException($"{weights.Path}: AveragePooling2D {pool.SquarePair("pool_size")} does not " +
                $"cover the whole {grid}x{grid} feature map");
        config.Layer("flatten", "Flatten", "average_pooling2d");
        head = new KerasDense(config.Layer("dense", "Dense", "flatten"), weights, featureDim);
        if (head.OutFeatures != classNames.Count)
            throw new InputException($"{weights.Path}: {head.OutFeatures} outputs but {classNames.Count} class names");
        // Registered by hand: a subclass's RegisterComponents does not see this class's private fields.
        register_module("dense", head);
    }

    /// <summary>
    /// The trunk: (B, 3, H, W) scaled pixels -> (B, FeatureDim, H/stride, W/stride), after the last ReLU.
    /// </summary>
    public abstract Tensor ForwardFeatures(Tensor x);

    /// <summary>Global average of a feature map: (B, C, h, w) -> (B, C).</summary>
    public static Tensor Pool(Tensor features) => features.mean([2, 3]);

    /// <summary>Class logits of a pooled summary: (B, FeatureDim) -> (B, classes).</summary>
    public Tensor Head(Tensor pooled) => head.call(pooled);

    // x: (B, 3, H, W) scaled pixels -> (B, classes) logits
    /// <inheritdoc />
    public override Tensor forward(Tensor x) => Head(Pool(ForwardFeatures(x)));
}
