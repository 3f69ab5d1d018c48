// Exact tensor comparison for the token-compression tests.
using static TorchSharp.torch;

namespace Condense.Vision.Tests.TokenCompression;

internal static class TokenAssert
{
    /// <summary>Same shape and every element equal.</summary>
    public static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
