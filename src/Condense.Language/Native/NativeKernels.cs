// The arithmetic of batch-1 LLaMA decoding on float spans, in three widths (scalar, Vector256, Vector512) that compute
// the same sums in different orders: matrix-vector products (W row-major (out, in)), RMSNorm, SwiGLU and softmax.
// Exp is MathF.Exp (not an approximation), so the paths differ only by float summation order (~1e-6 relative).
// Hot methods are compiled fully optimized on first call (AggressiveOptimization): under tiered compilation a short
// generation ran 3x slower than the same code after warm-up.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Condense.Language.Native;

/// <summary>Vectorized kernels for the native decode engine.</summary>
public static class NativeKernels
{
    /// <summary>The width <paramref name="requested"/> resolves to on this CPU.</summary>
    public static VectorPath Resolve(VectorPath requested)
    {
        bool has512 = Vector512.IsHardwareAccelerated, has256 = Vector256.IsHardwareAccelerated;
        return requested switch
        {
            VectorPath.Scalar => VectorPath.Scalar,
            VectorPath.Vector256 => has256 ? VectorPath.Vector256 : VectorPath.Scalar,
            _ => has512 ? VectorPath.Vector512 : has256 ? VectorPath.Vector256 : VectorPath.Scalar,
        };
    }

    /// <summary>Σ a[i]·b[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b, VectorPath path)
    {
        if (a.Length != b.Length) throw new ArgumentException($"lengths differ: {a.Length} and {b.Length}", nameof(b));
        return path switch
        {
            VectorPath.Vector512 => Dot512(a, b),
            VectorPath.Vector256 => Dot256(a, b),
            _ => DotScalar(a, b),
        };
    }

    /// <summary>y[o] = Σ_i w[o·n + i]·x[i] for o &lt; y.Length, n = x.Length (W row-major (out, in)).</summary>
    public static void MatVec(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, VectorPath path) => MatVec(w, x, y, path, RowGrouping.Auto);

    /// <summary>
    /// <see cref="MatVec(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, VectorPath)"/> with the rows read one after
    /// another or four side by side (<see cref="RowGrouping.Auto"/>: the engine's rule; the others for <c>bench gemv</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MatVec(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, VectorPath path, RowGrouping grouping)
    {
        int n = x.Length;
        if (w.Length != (long)n * y.Length) throw new ArgumentException($"weight of {w.Length} values is not ({y.Length}, {n})", nameof(w));
        int o = 0;
        // Four rows at a time share each load of x; every row's sum runs in Dot512's order, so results do not depend
        // on how rows are grouped (or split across threads).
        if (path == VectorPath.Vector512 && n % 64 == 0 && grouping != RowGrouping.OneRow)
            for (; o <= y.Length - 4; o += 4) Dot512x4(w.Slice(o * n, 4 * n), x, y.Slice(o, 4));
        else if (path == VectorPath.Vector256 && n % 16 == 0 && (grouping == RowGrouping.FourRows || (grouping == RowGrouping.Auto && n >= LongRow)))
        {
            // On AVX2 four long rows side by side draw more bandwidth from DRAM than one row after another (bench gemv,
            // docs/benchmarks.md); at 288 inputs they draw less. Each row is summed in Dot256Short's order.
            for (; o <= y.Length - 4; o += 4) Dot256x4(w.Slice(o * n, 4 * n), x, y.Slice(o, 4));
            for (; o < y.Length; o++) y[o] = Dot256Short(w.Slice(o * n, n), x);
            return;
        }
        for (; o < y.Length; o++) y[o] = Dot(w.Slice(o * n, n), x, path);
    }

    /// <summary>
    /// <see cref="MatVec(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, VectorPath)"/> with the rows split into
    /// contiguous blocks over <paramref name="threads"/> when the matrix is large enough to pay for it; each row
    /// is summed as on one thread, so the result is the same for any thread count.
    /// </summary>
    public static void MatVec(float[] w, float[] x, int xLength, float[] y, int yOffset, int rows, VectorPath path, ThreadSplit threads) =>
        SplitRows(rows, xLength, threads, (start, count) =>
            MatVec(w.AsSpan(start * xLength, count * xLength), x.AsSpan(0, xLength), y.AsSpan(yOffset + start, count), path));

    /// <summary>
    /// <see cref="Packed24Matrix.MatVec"/> with the rows split over <paramref name="threads"/> as the dense
    /// overload splits them (each row summed as on one thread).
    /// </summary>
    public static void MatVec(Packed24Matrix w, float[] x, float[] y, int yOffset, ThreadSplit threads)
    {
        ArgumentNullException.ThrowIfNull(w);
        SplitRows(w.Rows, w.Columns, threads, (start, count) =>
            w.MatVecRows(x.AsSpan(0, w.Columns), y.AsSpan(yOffset, w.Rows), start, count));
    }

    // Runs product(start, count) over all rows: on this thread for small products, else in contiguous blocks (multiples
    // of 4 rows, which keep the 4-row kernel in use) over the threads.
    private static void SplitRows(int rows, int columns, ThreadSplit threads, Action<int, int> product)
    {
        if (threads.Threads <= 1 || (long)rows * columns < threads.MatVecMinimum || rows < 2 * threads.Threads)
        {
            product(0, rows);
            return;
        }
        SplitRows(rows, threads, product);
    }

    /// <summary>
    /// Runs <paramref name="product"/>(start, count) over <paramref name="rows"/> rows in contiguous blocks (multiples of 4
    /// rows), four per thread, which the threads claim as they finish: a thread that started late or was preempted
    /// takes fewer blocks instead of holding the others up.
    /// </summary>
    internal static void SplitRows(int rows, ThreadSplit threads, Action<int, int> product)
    {
        int block = Math.Max(4, (rows / (4 * threads.Threads) + 3) & ~3);
        threads.Run((rows + block - 1) / block, b => product(b * block, Math.Min(block, rows - b * block)));
    }

    /// <summary>out = x / sqrt(mean(x²) + eps) · weight (RMSNorm, the sum of squares accumulated in float32 as torch does).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> output, VectorPath path)
    {
        float ss = Dot(x, x, path) / x.Length;
        float scale = 1f / MathF.Sqrt(ss + eps);
        for (int i = 0; i < x.Length; i++) output[i] = weight[i] * (x[i] * scale);
    }

    /// <summary>gate[i] = silu(gate[i]) · up[i] (SwiGLU's elementwise part).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SwiGlu(Span<float> gate, ReadOnlySpan<float> up)
    {
        for (int i = 0; i < gate.Length; i++)
        {
            float g = gate[i];
            gate[i] = g / (1f + MathF.Exp(-g)) * up[i];
        }
    }

    /// <summary>In-place softmax.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Softmax(Span<float> x)
    {
        float max = float.NegativeInfinity;
        foreach (var v in x) max = MathF.Max(max, v);
        float sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = MathF.Exp(x[i] - max);
            sum += x[i];
        }
        float inv = 1f / sum;
        for (int i = 0; i < x.Length; i++) x[i] *= inv;
    }

    /// <summary>y += a · x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddScaled(Span<float> y, ReadOnlySpan<float> x, float a, VectorPath path)
    {
        int i = 0;
        if (path == VectorPath.Vector512)
        {
            var va = Vector512.Create(a);
            ref float ry = ref MemoryMarshal.GetReference(y);
            ref float rx = ref MemoryMarshal.GetReference(x);
            for (; i <= y.Length - 16; i += 16)
                Vector512.FusedMultiplyAdd(va, Vector512.LoadUnsafe(ref rx, (nuint)i), Vector512.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        }
        else if (path == VectorPath.Vector256)
        {
            var va = Vector256.Create(a);
            ref float ry = ref MemoryMarshal.GetReference(y);
            ref float rx = ref MemoryMarshal.GetReference(x);
            for (; i <= y.Length - 8; i += 8)
                Vector256.FusedMultiplyAdd(va, Vector256.LoadUnsafe(ref rx, (nuint)i), Vector256.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        }
        for (; i < y.Length; i++) y[i] = MathF.FusedMultiplyAdd(a, x[i], y[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float DotScalar(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    // Four accumulators so consecutive FMAs do not wait on each other.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot256(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        int n = a.Length, i = 0;
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
        for (; i <= n - 32; i += 32)
        {
            s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ra, (nuint)i), Vector256.LoadUnsafe(ref rb, (nuint)i), s0);
            s1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ra, (nuint)(i + 8)), Vector256.LoadUnsafe(ref rb, (nuint)(i + 8)), s1);
            s2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ra, (nuint)(i + 16)), Vector256.LoadUnsafe(ref rb, (nuint)(i + 16)), s2);
            s3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ra, (nuint)(i + 24)), Vector256.LoadUnsafe(ref rb, (nuint)(i + 24)), s3);
        }
        for (; i <= n - 8; i += 8)
            s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ra, (nuint)i), Vector256.LoadUnsafe(ref rb, (nuint)i), s0);
        float s = Vector256.Sum((s0 + s1) + (s2 + s3));
        for (; i < n; i++) s = MathF.FusedMultiplyAdd(a[i], b[i], s);
        return s;
    }

    /// <summary>Inputs from which AVX2 matrix-vector products read four rows side by side.</summary>
    public const int LongRow = 1024;

    // Four rows of n = 16k values against x, each summed as Dot256Short sums it (two accumulators over 16-value steps).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot256x4(ReadOnlySpan<float> rows, ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length;
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float r0 = ref MemoryMarshal.GetReference(rows);
        ref float r1 = ref Unsafe.Add(ref r0, n);
        ref float r2 = ref Unsafe.Add(ref r0, 2 * n);
        ref float r3 = ref Unsafe.Add(ref r0, 3 * n);
        Vector256<float> a0 = default, a1 = default, b0 = default, b1 = default, c0 = default, c1 = default, d0 = default, d1 = default;
        for (int i = 0; i < n; i += 16)
        {
            var x0 = Vector256.LoadUnsafe(ref rx, (nuint)i);
            var x1 = Vector256.LoadUnsafe(ref rx, (nuint)(i + 8));
            a0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref r0, (nuint)i), x0, a0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref r0, (nuint)(i + 8)), x1, a1);
            b0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref r1, (nuint)i), x0, b0);
            b1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref r1, (nuint)(i + 8)), x1, b1);
            c0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref r2, (nuint)i), x0, c0);
            c1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref r2, (nuint)(i + 8)), x1, c1);
            d0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref r3, (nuint)i), x0, d0);
            d1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref r3, (nuint)(i + 8)), x1, d1);
        }
        y[0] = Vector256.Sum(a0 + a1);
        y[1] = Vector256.Sum(b0 + b1);
        y[2] = Vector256.Sum(c0 + c1);
        y[3] = Vector256.Sum(d0 + d1);
    }

    // One row of n = 16k values in Dot256x4's order.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot256Short(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        Vector256<float> s0 = default, s1 = default;
        for (int i = 0; i < a.Length; i += 16)
        {
            s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ra, (nuint)i), Vector256.LoadUnsafe(ref rb, (nuint)i), s0);
            s1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref ra, (nuint)(i + 8)), Vector256.LoadUnsafe(ref rb, (nuint)(i + 8)), s1);
        }
        return Vector256.Sum(s0 + s1);
    }

    // Four rows of n = 64k values against x: the same accumulation order per row as Dot512 (four accumulators over
    // 64-value steps, then ((s0 + s1) + (s2 + s3)) summed).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot512x4(ReadOnlySpan<float> rows, ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length;
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float r0 = ref MemoryMarshal.GetReference(rows);
        ref float r1 = ref Unsafe.Add(ref r0, n);
        ref float r2 = ref Unsafe.Add(ref r0, 2 * n);
        ref float r3 = ref Unsafe.Add(ref r0, 3 * n);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector512<float> d0 = default, d1 = default, d2 = default, d3 = default;
        for (int i = 0; i < n; i += 64)
        {
            var x0 = Vector512.LoadUnsafe(ref rx, (nuint)i);
            var x1 = Vector512.LoadUnsafe(ref rx, (nuint)(i + 16));
            var x2 = Vector512.LoadUnsafe(ref rx, (nuint)(i + 32));
            var x3 = Vector512.LoadUnsafe(ref rx, (nuint)(i + 48));
            a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r0, (nuint)i), x0, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r0, (nuint)(i + 16)), x1, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r0, (nuint)(i + 32)), x2, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r0, (nuint)(i + 48)), x3, a3);
            b0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r1, (nuint)i), x0, b0);
            b1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r1, (nuint)(i + 16)), x1, b1);
            b2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r1, (nuint)(i + 32)), x2, b2);
            b3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r1, (nuint)(i + 48)), x3, b3);
            c0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r2, (nuint)i), x0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r2, (nuint)(i + 16)), x1, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r2, (nuint)(i + 32)), x2, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r2, (nuint)(i + 48)), x3, c3);
            d0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r3, (nuint)i), x0, d0);
            d1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r3, (nuint)(i + 16)), x1, d1);
            d2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r3, (nuint)(i + 32)), x2, d2);
            d3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref r3, (nuint)(i + 48)), x3, d3);
        }
        y[0] = Vector512.Sum((a0 + a1) + (a2 + a3));
        y[1] = Vector512.Sum((b0 + b1) + (b2 + b3));
        y[2] = Vector512.Sum((c0 + c1) + (c2 + c3));
        y[3] = Vector512.Sum((d0 + d1) + (d2 + d3));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot512(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        int n = a.Length, i = 0;
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
        for (; i <= n - 64; i += 64)
        {
            s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref ra, (nuint)i), Vector512.LoadUnsafe(ref rb, (nuint)i), s0);
            s1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref ra, (nuint)(i + 16)), Vector512.LoadUnsafe(ref rb, (nuint)(i + 16)), s1);
            s2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref ra, (nuint)(i + 32)), Vector512.LoadUnsafe(ref rb, (nuint)(i + 32)), s2);
            s3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref ra, (nuint)(i + 48)), Vector512.LoadUnsafe(ref rb, (nuint)(i + 48)), s3);
        }
        for (; i <= n - 16; i += 16)
            s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref ra, (nuint)i), Vector512.LoadUnsafe(ref rb, (nuint)i), s0);
        float s = Vector512.Sum((s0 + s1) + (s2 + s3));
        // A 256-bit step for the remainder keeps widths that are multiples of 8 (head dim 8, dim 64+8k) vectorized.
        if (i <= n - 8)
        {
            s += Vector256.Sum(Vector256.LoadUnsafe(ref ra, (nuint)i) * Vector256.LoadUnsafe(ref rb, (nuint)i));
            i += 8;
        }
        for (; i < n; i++) s = MathF.FusedMultiplyAdd(a[i], b[i], s);
        return s;
    }
}
