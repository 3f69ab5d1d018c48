// The order in which a matrix-vector product reads the rows of W. With AVX-512 each row is summed the same way either
// way; with AVX2 the four-row kernel sums in another order (two accumulators), so results differ by float rounding.
namespace Condense.Language.Native;

/// <summary>How a matrix-vector product walks the rows of W.</summary>
public enum RowGrouping
{
    /// <summary>The engine's rule: four rows side by side with AVX-512, and with AVX2 from <see cref="NativeKernels.LongRow"/> inputs.</summary>
    Auto,

    /// <summary>One row after another.</summary>
    OneRow,

    /// <summary>Four rows side by side wherever the width allows it.</summary>
    FourRows,
}
