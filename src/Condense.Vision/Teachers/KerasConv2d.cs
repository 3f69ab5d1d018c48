// Keras Conv2D and DepthwiseConv2D (keras/layers/convolutional) as a TorchSharp module, weights converted from
// Keras layouts: Conv2D kernel (kh, kw, in, out) -> OIHW (out, in, kh, kw); DepthwiseConv2D depthwise_kernel
// (kh, kw, C, 1) -> (C, 1, kh, kw) with groups = C. Keras runs NHWC and we run NCHW; the maths is identical.
//
// Deviations:
// - padding='same' follows TensorFlow exactly (KerasPadding: an odd padding total puts the extra zero row and
//   column at the bottom and right) by an explicit F.pad before a padding-0 convolution. The Symmetric rule,
//   PyTorch's padding = kernel / 2 on both sides, exists only to measure what a naive port would lose.
// - Only what the MLPerf Tiny models use: no dilation, depth_multiplier 1, linear (no fused) activation.
using Condense.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Condense.Vision.Teachers;

/// <summary>How padding='same' is turned into zeros around the input.</summary>
public enum KerasPaddingRule
{
    /// <summary>TensorFlow's rule (what Keras computes): an odd total puts the extra zero bottom/right.</summary>
    TensorFlow,

    /// <summary>kernel / 2 zeros on every side, as PyTorch's padding argument would (wrong for stride 2).</summary>
    Symmetric,
}

/// <summary>A Keras Conv2D or DepthwiseConv2D with its trained weights.</summary>
public sealed class KerasConv2d : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter? bias;
    private readonly int kernel;
    private readonly int stride;
    private readonly int groups;
    private readonly bool same;
    private readonly KerasPaddingRule rule;

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>The Conv2D or DepthwiseConv2D <paramref name="layer"/> with its kernel (and bias) from <paramref name="weights"/>, converted to OIHW.</summary>
    public KerasConv2d(KerasLayer layer, KerasWeights weights, KerasPaddingRule rule = KerasPaddingRule.TensorFlow)
        : base(layer.Name)
    {
        var depthwise = layer.ClassName == "DepthwiseConv2D";
        if (!depthwise && layer.ClassName != "Conv2D")
            throw new InputException($"Keras layer '{layer.Name}' is a {layer.ClassName}, not a convolution");
        if (layer.String("data_format") != "channels_last" || layer.String("activation") != "linear")
            throw new InputException($"Keras layer '{layer.Name}': only channels_last with a linear activation");
        if (layer.Config.TryGetProperty("dilation_rate", out _) && layer.SquarePair("dilation_rate") != 1)
            throw new InputException($"Keras layer '{layer.Name}': dilation is not supported");
        var padding = layer.String("padding");
        if (padding is not ("same" or "valid"))
            throw new InputException($"Keras layer '{layer.Name}': unknown padding '{padding}'");

        kernel = layer.SquarePair("kernel_size");
        stride = layer.SquarePair("strides");
        same = padding == "same";
        this.rule = rule;

        using var scope = NewDisposeScope();
        Tensor w;
        if (depthwise)
        {
            if (layer.Int("depth_multiplier") != 1)
                throw new InputException($"Keras layer '{layer.Name}': only depth_multiplier 1 is supported");
            var k = weights.Get(layer.Name, "depthwise_kernel");                // (kh, kw, C, 1)
            if (k.shape.Length != 4 || k.shape[0] != kernel || k.shape[1] != kernel || k.shape[3] != 1)
                throw new InputException($"{weights.Path}: '{layer.Name}' depthwise kernel has shape " +
                    $"[{string.Join(", ", k.shape)}], expected [{kernel}, {kernel}, C, 1]");
            w = k.permute(2, 3, 0, 1);                                         // (C, 1, kh, kw)
            OutChannels = (int)k.shape[2];
            groups = OutChannels;
        }
        else
        {
            OutChannels = layer.Int("filters");
            var k = weights.Get(layer.Name, "kernel");                          // (kh, kw, in, out)
            if (k.shape.Length != 4 || k.shape[0] != kernel || k.shape[1] != kernel || k.shape[3] != OutChannels)
                throw new InputException($"{weights.Path}: '{layer.Name}' kernel has shape " +
                    $"[{string.Join(", ", k.shape)}], expected [{kernel}, {kernel}, in, {OutChannels}]");
            w = k.permute(3, 2, 0, 1);                                         // (out, in, kh, kw)
            groups = 1;
        }
        weight = FrozenParameter.Copy(w);
        if (layer.Bool("use_bias")) bias = FrozenParameter.Copy(weights.Get(layer.Name, "bias", OutChannels));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        // x: (B, C, H, W)
        if (same)
        {
            var (top, bottom) = Padding((int)x.shape[2]);
            var (left, right) = Padding((int)x.shape[3]);
            if (top + bottom + left + right > 0) x = nn.functional.pad(x, [left, right, top, bottom]);
        }
        return nn.functional.conv2d(x, weight, bias, strides: [stride, stride], groups: groups);
    }

    private (long, long) Padding(int size) => rule switch
    {
        KerasPaddingRule.TensorFlow => KerasPadding.Same(size, kernel, stride),
        _ => (kernel / 2, kernel / 2),
    };
}
