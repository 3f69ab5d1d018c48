// MobileNetV1 (Howard et al. 2017, arXiv:1704.04861) with width multiplier alpha = 0.25 at 96x96, the MLPerf
// Tiny Visual Wake Words reference (mlcommons/tiny, benchmark/training/visual_wake_words/vww_model.py),
// trained to say whether a person is in the image. A 3x3 stride-2 conv stem (8 filters), then 13
// depthwise-separable blocks (3x3 depthwise conv, BN, ReLU, 1x1 conv, BN, ReLU) widening to 256 channels at
// total stride 32, 3x3 average pooling and a 2-way softmax Dense: [non_person, person]. Every layer's
// hyper-parameters come from the Keras config in the weights file, and the wiring below is checked against it.
//
// Deviations: see KerasClassifier (NCHW, global-average head, logits before softmax) and KerasConv2d (exact TF
// 'same' padding by explicit F.pad). Input: RGB / 255, i.e. [0, 1], no mean/std.
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Condense.Vision.Teachers;

/// <summary>The MLPerf Tiny MobileNetV1-0.25 Visual Wake Words model with its trained Keras weights.</summary>
public sealed class KerasMobileNetV1 : KerasClassifier
{
    /// <summary>The weights file, relative to the shared folder.</summary>
    public const string DefaultWeights = "models/mlperf_tiny/mobilenetv1_0.25_vww96_mlperf_tiny.safetensors";

    /// <summary>The Visual Wake Words classes in logit order: non_person, person.</summary>
    public static IReadOnlyList<string> VwwClassNames { get; } = ["non_person", "person"];

    private const int Blocks = 13;

    private readonly KerasConv2d conv2d;
    private readonly KerasBatchNorm batch_normalization;
    private readonly ModuleList<SeparableBlock> blocks;

    /// <summary>Builds the model from the Keras config and weights, checking every layer's wiring.</summary>
    public KerasMobileNetV1(KerasWeights weights, KerasPaddingRule padding = KerasPaddingRule.TensorFlow)
        : base(nameof(KerasMobileNetV1), weights, featureStride: 32, featureDim: 256, inputScale: 1f,
            VwwClassNames, lastFeatureLayer: KerasModelConfig.Indexed("activation", 2 * Blocks), padding)
    {
        var config = weights.Config;
        conv2d = new KerasConv2d(config.Layer("conv2d", "Conv2D", "input_1"), weights, padding);
        batch_normalization = new KerasBatchNorm(config.Layer("batch_normalization", "BatchNormalization", "conv2d"),
            weights, conv2d.OutChannels);
        config.Relu("activation", "batch_normalization");
        blocks = new ModuleList<SeparableBlock>();
        for (var i = 0; i < Blocks; i++) blocks.Add(new SeparableBlock(weights, padding, i));
        RegisterComponents();
    }

    /// <summary>Loads the weights file (default: the shared MLPerf Tiny export).</summary>
    public static KerasMobileNetV1 Load(string path, KerasPaddingRule padding = KerasPaddingRule.TensorFlow)
    {
        using var weights = KerasWeights.Load(path);
        return new KerasMobileNetV1(weights, padding);
    }

    /// <inheritdoc />
    public override Tensor ForwardFeatures(Tensor x)
    {
        x = nn.functional.relu(batch_normalization.call(conv2d.call(x)));   // (B, 8, H/2, W/2)
        foreach (var block in blocks) x = block.call(x);                    // (B, 256, H/32, W/32)
        return x;
    }

    /// <summary>
    /// Block i: relu(bn(depthwise_conv2d_i(x))) then relu(bn(conv2d_{i+1}(.))), the 1x1 pointwise conv; Keras
    /// numbers the BatchNormalization and Activation layers 2i+1 and 2i+2.
    /// </summary>
    private sealed class SeparableBlock : nn.Module<Tensor, Tensor>
    {
        private readonly KerasConv2d depthwise;
        private readonly KerasBatchNorm bn_depthwise;
        private readonly KerasConv2d pointwise;
        private readonly KerasBatchNorm bn_pointwise;

        public SeparableBlock(KerasWeights weights, KerasPaddingRule padding, int i) : base(nameof(SeparableBlock))
        {
            var config = weights.Config;
            var input = KerasModelConfig.Indexed("activation", 2 * i);
            var dw = KerasModelConfig.Indexed("depthwise_conv2d", i);
            var pw = KerasModelConfig.Indexed("conv2d", i + 1);
            string bn1 = KerasModelConfig.Indexed("batch_normalization", 2 * i + 1), act1 = $"activation_{2 * i + 1}";
            string bn2 = KerasModelConfig.Indexed("batch_normalization", 2 * i + 2), act2 = $"activation_{2 * i + 2}";

            depthwise = new KerasConv2d(config.Layer(dw, "DepthwiseConv2D", input), weights, padding);
            bn_depthwise = new KerasBatchNorm(config.Layer(bn1, "BatchNormalization", dw), weights,
                depthwise.OutChannels);
            config.Relu(act1, bn1);
            pointwise = new KerasConv2d(config.Layer(pw, "Conv2D", act1), weights, padding);
            bn_pointwise = new KerasBatchNorm(config.Layer(bn2, "BatchNormalization", pw), weights,
                pointwise.OutChannels);
            config.Relu(act2, bn2);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            // x: (B, C, H, W) -> (B, C', H/s, W/s)
            x = nn.functional.relu(bn_depthwise.call(depthwise.call(x)));
            return nn.functional.relu(bn_pointwise.call(pointwise.call(x)));
        }
    }
}
