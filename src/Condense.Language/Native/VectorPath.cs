namespace Condense.Language.Native;

/// <summary>
/// Which SIMD width the native kernels use. <see cref="Auto"/> picks the widest the CPU accelerates; the others force a
/// path (a forced path the CPU lacks falls back to the next narrower one), so tests cover every path on one machine.
/// </summary>
public enum VectorPath
{
    /// <summary>The widest accelerated width (Vector512, else Vector256, else scalar).</summary>
    Auto,
    /// <summary>Plain scalar loops: the reference.</summary>
    Scalar,
    /// <summary>Vector256 (AVX2 + FMA on x64, 2×NEON on Arm).</summary>
    Vector256,
    /// <summary>Vector512 (AVX-512F).</summary>
    Vector512,
}
