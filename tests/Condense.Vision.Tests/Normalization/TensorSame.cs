// Exact comparison for the normalization tests (TorchSharp's `equal` is element-wise).
using Condense.Vision.Tests.Radio;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Normalization;

internal static class TensorSame
{
    /// <summary>True when both tensors have the same shape and bit-equal values.</summary>
    public static bool Same(this Tensor a, Tensor b) => Identical.Check(a, b);
}
