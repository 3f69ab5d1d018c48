// TensorFlow's padding='same' arithmetic (tensorflow/python/ops/nn_ops.py, "SAME" padding; the same rule as
// tf.nn.conv2d and Keras Conv2D/DepthwiseConv2D/pooling): the output has ceil(in / stride) positions and the
// missing input is padded with total = max((out - 1) * stride + kernel - in, 0) zeros, of which total / 2
// (rounded down) go before and the rest after. With an even total both sides match PyTorch's symmetric
// `padding`; with an odd total (a 3x3 kernel at stride 2 on an even size, as in ResNet8 and MobileNetV1) the
// extra row and column go at the bottom and right, which no PyTorch `padding=` argument can express.
namespace Condense.Vision.Teachers;

/// <summary>TensorFlow's padding='same' arithmetic.</summary>
public static class KerasPadding
{
    /// <summary>Zeros before and after one spatial axis for padding='same'.</summary>
    public static (int Before, int After) Same(int size, int kernel, int stride)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernel);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        var output = (size + stride - 1) / stride;
        var total = Math.Max((output - 1) * stride + kernel - size, 0);
        return (total / 2, total - total / 2);
    }
}
