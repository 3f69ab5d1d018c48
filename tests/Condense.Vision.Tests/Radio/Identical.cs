using static TorchSharp.torch;

namespace Condense.Vision.Tests.Radio;

/// <summary>Exact tensor comparison (TorchSharp's `equal` is element-wise).</summary>
internal static class Identical
{
    /// <summary>True when both tensors have the same shape and bit-equal values.</summary>
    public static bool Check(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return a.shape.SequenceEqual(b.shape) && eq(a, b).all().item<bool>();
    }
}
