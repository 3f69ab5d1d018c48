// ResNet8 of MLPerf Tiny image classification (mlcommons/tiny, benchmark/training/image_classification/
// keras_model.py, resnet_v1_eembc), trained on CIFAR-10: a 3x3 conv stem and three residual stages of 16, 32
// and 64 filters (stride 1, 2, 2), each two 3x3 convs with BatchNormalization, the later two with a 1x1 strided
// conv shortcut, then 8x8 average pooling and a 10-way softmax Dense. 78,666 parameters. Every layer's
// hyper-parameters come from the Keras config in the weights file, and the wiring below is checked against it.
//
// Deviations: see KerasClassifier (NCHW, global-average head, logits before softmax) and KerasConv2d (exact TF
// 'same' padding by explicit F.pad). Input: RGB in 0..255 (the model has no Rescaling layer).
using Condense.Core.Data;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Condense.Vision.Teachers;

/// <summary>The MLPerf Tiny ResNet8 for CIFAR-10 with its trained Keras weights.</summary>
public sealed class KerasResNet8 : KerasClassifier
{
    /// <summary>The weights file, relative to the shared folder.</summary>
    public const string DefaultWeights = "models/mlperf_tiny/resnet8_cifar10_mlperf_tiny.safetensors";

    private readonly KerasConv2d conv2d;
    private readonly KerasBatchNorm batch_normalization;
    private readonly ModuleList<ResidualStage> stages;

    /// <summary>Builds the model from the Keras config and weights, checking every layer's wiring.</summary>
    public KerasResNet8(KerasWeights weights, KerasPaddingRule padding = KerasPaddingRule.TensorFlow)
        : base(nameof(KerasResNet8), weights, featureStride: 4, featureDim: 64, inputScale: 255f,
            CifarFile.ClassNames, lastFeatureLayer: "activation_6", padding)
    {
        var config = weights.Config;
        conv2d = new KerasConv2d(config.Layer("conv2d", "Conv2D", "input_1"), weights, padding);
        batch_normalization = new KerasBatchNorm(config.Layer("batch_normalization", "BatchNormalization", "conv2d"),
            weights, conv2d.OutChannels);
        config.Relu("activation", "batch_normalization");
        stages = new ModuleList<ResidualStage>(
            new ResidualStage(weights, padding, "activation", ["conv2d_1", "conv2d_2", null],
                ["batch_normalization_1", "batch_normalization_2"], ["activation_1", "add", "activation_2"]),
            new ResidualStage(weights, padding, "activation_2", ["conv2d_3", "conv2d_4", "conv2d_5"],
                ["batch_normalization_3", "batch_normalization_4"], ["activation_3", "add_1", "activation_4"]),
            new ResidualStage(weights, padding, "activation_4", ["conv2d_6", "conv2d_7", "conv2d_8"],
                ["batch_normalization_5", "batch_normalization_6"], ["activation_5", "add_2", "activation_6"]));
        RegisterComponents();
    }

    /// <summary>Loads the weights file (default: the shared MLPerf Tiny export).</summary>
    public static KerasResNet8 Load(string path, KerasPaddingRule padding = KerasPaddingRule.TensorFlow)
    {
        using var weights = KerasWeights.Load(path);
        return new KerasResNet8(weights, padding);
    }

    /// <inheritdoc />
    public override Tensor ForwardFeatures(Tensor x)
    {
        x = nn.functional.relu(batch_normalization.call(conv2d.call(x)));   // (B, 16, H, W)
        foreach (var stage in stages) x = stage.call(x);                    // (B, 64, H/4, W/4)
        return x;
    }

    /// <summary>
    /// relu(bn_b(conv_b(relu(bn_a(conv_a(x))))) + shortcut(x)), shortcut = identity or a 1x1 strided conv
    /// (no BatchNormalization on the shortcut, as in the reference).
    /// </summary>
    private sealed class ResidualStage : nn.Module<Tensor, Tensor>
    {
        private readonly KerasConv2d conv_a;
        private readonly KerasBatchNorm bn_a;
        private readonly KerasConv2d conv_b;
        private readonly KerasBatchNorm bn_b;
        private readonly KerasConv2d? shortcut;

        // convs: [a, b, shortcut or null]; bns: [a, b]; joins: [relu after a, add, relu after add].
        public ResidualStage(KerasWeights weights, KerasPaddingRule padding, string input, string?[] convs,
            string[] bns, string[] joins) : base(nameof(ResidualStage))
        {
            var config = weights.Config;
            conv_a = new KerasConv2d(config.Layer(convs[0]!, "Conv2D", input), weights, padding);
            bn_a = new KerasBatchNorm(config.Layer(bns[0], "BatchNormalization", convs[0]!), weights,
                conv_a.OutChannels);
            config.Relu(joins[0], bns[0]);
            conv_b = new KerasConv2d(config.Layer(convs[1]!, "Conv2D", joins[0]), weights, padding);
            bn_b = new KerasBatchNorm(config.Layer(bns[1], "BatchNormalization", convs[1]!), weights,
                conv_b.OutChannels);
            if (convs[2] is { } name)
            {
                shortcut = new KerasConv2d(config.Layer(name, "Conv2D", input), weights, padding);
                config.Layer(joins[1], "Add", name, bns[1]);
            }
            else
            {
                config.Layer(joins[1], "Add", input, bns[1]);
            }
            config.Relu(joins[2], joins[1]);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            // x: (B, C, H, W) -> (B, C', H/s, W/s)
            var y = nn.functional.relu(bn_a.call(conv_a.call(x)));
            y = bn_b.call(conv_b.call(y));
            return nn.functional.relu(y + (shortcut is null ? x : shortcut.call(x)));
        }
    }
}
