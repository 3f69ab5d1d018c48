// Teacher weights are copied out of the loaded file into parameters that never train and belong to no
// DisposeScope: a teacher outlives whatever scope it was built in, and its module disposes them.
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Condense.Vision.Teachers;

internal static class FrozenParameter
{
    /// <summary>A contiguous copy of <paramref name="value"/> as a parameter with requires_grad = false.</summary>
    public static Parameter Copy(Tensor value)
    {
        using var scope = NewDisposeScope();
        return new Parameter(value.contiguous().clone().DetachFromDisposeScope(), requires_grad: false);
    }
}
