// Matrix products for prefill and scoring: Y = X · Wᵀ for several tokens at once, W row-major (out, in), X (tokens, in),
// Y (tokens, out). Batch-1 decode is bound by the bytes of W; with T tokens each weight loaded is used T times, so the
// product becomes bound by arithmetic, as in llama.cpp's prefill (llamafile's tinyBLAS tiles its f32 products the same
// way: a small block of rows against a small block of tokens, every pair's sum held in a register).
//
// The tile is 4 rows × 4 tokens: 16 accumulators and 8 loads per 16 fused multiply-adds, all in registers on AVX-512
// (32 vector registers) and on AVX2 (16: the JIT keeps the accumulators and reloads operands from L1).
// Every (row, token) sum is one accumulator over the vector steps, then the vector's lanes summed, then the remainder in
// order; the tile and the edge code compute exactly that, so a token's result does not depend on how many tokens came
// with it, on where the tiles fall, or on the thread count (rows are split in blocks).
//
// Rows outer, tokens inner: a 4-row block of W (16 KB at 1024 inputs) stays in L1 while every token block passes
// over it, so W is read from memory once per product.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Condense.Language.Native;

/// <summary>Y = X · Wᵀ over a block of tokens (prefill and scoring on the native engine).</summary>
public static class NativeGemm
{
    /// <summary>Products smaller than this many multiply-adds stay on one thread.</summary>
    public const long ParallelMinimum = 1L << 20;

    /// <summary>
    /// y[t·rows + o] = Σ_i w[o·n + i]·x[t·n + i] for t &lt; <paramref name="tokens"/>, o &lt; <paramref name="rows"/>.
    /// </summary>
    public static void MatMul(ReadOnlySpan<float> w, ReadOnlySpan<float> x, int tokens, int n, Span<float> y, int rows, VectorPath path)
    {
        if (w.Length < (long)rows * n) throw new ArgumentException($"weight of {w.Length} values is not ({rows}, {n})", nameof(w));
        if (x.Length < (long)tokens * n) throw new ArgumentException($"input of {x.Length} values is not ({tokens}, {n})", nameof(x));
        if (y.Length < (long)tokens * rows) throw new ArgumentException($"output of {y.Length} values is not ({tokens}, {rows})", nameof(y));
        Rows(w, x, tokens, n, y, rows, 0, rows, path);
    }

    /// <summary><see cref="MatMul(ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, Span{float}, int, VectorPath)"/> on arrays, with y at <paramref name="yOffset"/> and the rows split in blocks over <paramref name="threads"/> when the product is large enough.</summary>
    public static void MatMul(float[] w, float[] x, int tokens, int n, float[] y, int yOffset, int rows, VectorPath path, ThreadSplit threads)
    {
        if (w.Length < (long)rows * n || x.Length < (long)tokens * n || y.Length < yOffset + (long)tokens * rows)
            throw new ArgumentException($"w, x or y is too small for ({tokens}, {n}) x ({rows}, {n})ᵀ");
        SplitRows(rows, n, tokens, threads, (start, count) =>
            Rows(w, x.AsSpan(0, tokens * n), tokens, n, y.AsSpan(yOffset, tokens * rows), rows, start, count, path));
    }

    /// <summary>
    /// y (tokens, w.Rows) at <paramref name="yOffset"/> = X · Wᵀ for a packed 2:4 W: each block of 4 rows is unpacked into a
    /// small dense buffer once and multiplied as the dense product multiplies it, so a block of tokens costs what it costs
    /// dense, and the weights are read in their packed size.
    /// </summary>
    public static void MatMul(Packed24Matrix w, float[] x, int tokens, float[] y, int yOffset, VectorPath path, ThreadSplit threads)
    {
        ArgumentNullException.ThrowIfNull(w);
        int rows = w.Rows, n = w.Columns;
        if (x.Length < (long)tokens * n || y.Length < yOffset + (long)tokens * rows) throw new ArgumentException($"x or y is too small for ({tokens}, {n}) x ({rows}, {n})ᵀ");
        void Part(int start, int count)
        {
            var block = unpacked ??= [];
            if (block.Length < 4 * n) block = unpacked = new float[4 * n];
            for (int o = start; o < start + count; o += 4)
            {
                int blockRows = Math.Min(4, start + count - o);
                w.UnpackRows(o, blockRows, block);
                Rows(block, x.AsSpan(0, tokens * n), tokens, n, y.AsSpan(yOffset, tokens * rows), rows, o, blockRows, path, firstRow: o);
            }
        }
        SplitRows(rows, n, tokens, threads, Part);
    }

    // part(start, count) over all rows: on this thread for a small product, else in blocks over the threads.
    private static void SplitRows(int rows, int n, int tokens, ThreadSplit threads, Action<int, int> part)
    {
        if (threads.Threads <= 1 || (long)rows * n * tokens < ParallelMinimum || rows < 8 * threads.Threads) part(0, rows);
        else NativeKernels.SplitRows(rows, threads, part);
    }

    [ThreadStatic]
    private static float[]? unpacked;   // one 4-row dense block per thread for the packed product

    // Rows [start, start + count) of the product, for every token; w holds rows from firstRow on.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows(ReadOnlySpan<float> w, ReadOnlySpan<float> x, int tokens, int n, Span<float> y, int rows, int start, int count, VectorPath path, int firstRow = 0)
    {
        ref float rw = ref Unsafe.Subtract(ref MemoryMarshal.GetReference(w), firstRow * n);   // row o at rw + o·n
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        int end = start + count, o = start;
        for (; o <= end - 4; o += 4)
        {
            int t = 0;
            if (path == VectorPath.Vector512)
                for (; t <= tokens - 4; t += 4) Tile<Lanes512, Vector512<float>>(ref Unsafe.Add(ref rw, o * n), ref Unsafe.Add(ref rx, t * n), n, ref Unsafe.Add(ref ry, t * rows + o), rows);
            else if (path == VectorPath.Vector256)
                for (; t <= tokens - 4; t += 4) Tile<Lanes256, Vector256<float>>(ref Unsafe.Add(ref rw, o * n), ref Unsafe.Add(ref rx, t * n), n, ref Unsafe.Add(ref ry, t * rows + o), rows);
            for (; t < tokens; t++)
                for (int r = o; r < o + 4; r++)
                    Unsafe.Add(ref ry, t * rows + r) = Dot(ref Unsafe.Add(ref rw, r * n), ref Unsafe.Add(ref rx, t * n), n, path);
        }
        for (; o < end; o++)
            for (int t = 0; t < tokens; t++)
                Unsafe.Add(ref ry, t * rows + o) = Dot(ref Unsafe.Add(ref rw, o * n), ref Unsafe.Add(ref rx, t * n), n, path);
    }

    // One (row, token) sum in the tiles' order.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot(ref float w, ref float x, int n, VectorPath path) => path switch
    {
        VectorPath.Vector512 => Dot<Lanes512, Vector512<float>>(ref w, ref x, n),
        VectorPath.Vector256 => Dot<Lanes256, Vector256<float>>(ref w, ref x, n),
        _ => Remainder(ref w, ref x, 0, n, 0f),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot<TL, TV>(ref float w, ref float x, int n) where TL : struct, ILanes<TV> where TV : struct
    {
        TV acc = default;
        int i = 0;
        for (; i <= n - TL.Count; i += TL.Count) acc = TL.Fma(TL.Load(ref w, i), TL.Load(ref x, i), acc);
        return Remainder(ref w, ref x, i, n, TL.Sum(acc));
    }

    private static float Remainder(ref float w, ref float x, int i, int n, float s)
    {
        for (; i < n; i++) s = MathF.FusedMultiplyAdd(Unsafe.Add(ref w, i), Unsafe.Add(ref x, i), s);
        return s;
    }

    // Rows w0..w3 (stride n) against tokens x0..x3 (stride n); y[t·yStride + r].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TL, TV>(ref float w, ref float x, int n, ref float y, int yStride) where TL : struct, ILanes<TV> where TV : struct
    {
        ref float w1 = ref Unsafe.Add(ref w, n), w2 = ref Unsafe.Add(ref w, 2 * n), w3 = ref Unsafe.Add(ref w, 3 * n);
        ref float x1 = ref Unsafe.Add(ref x, n), x2 = ref Unsafe.Add(ref x, 2 * n), x3 = ref Unsafe.Add(ref x, 3 * n);
        TV c00 = default, c01 = default, c02 = default, c03 = default;
        TV c10 = default, c11 = default, c12 = default, c13 = default;
        TV c20 = default, c21 = default, c22 = default, c23 = default;
        TV c30 = default, c31 = default, c32 = default, c33 = default;
        int i = 0;
        for (; i <= n - TL.Count; i += TL.Count)
        {
            var a0 = TL.Load(ref w, i);
            var a1 = TL.Load(ref w1, i);
            var a2 = TL.Load(ref w2, i);
            var a3 = TL.Load(ref w3, i);
            var b = TL.Load(ref x, i);
            c00 = TL.Fma(a0, b, c00); c10 = TL.Fma(a1, b, c10); c20 = TL.Fma(a2, b, c20); c30 = TL.Fma(a3, b, c30);
            b = TL.Load(ref x1, i);
            c01 = TL.Fma(a0, b, c01); c11 = TL.Fma(a1, b, c11); c21 = TL.Fma(a2, b, c21); c31 = TL.Fma(a3, b, c31);
            b = TL.Load(ref x2, i);
            c02 = TL.Fma(a0, b, c02); c12 = TL.Fma(a1, b, c12); c22 = TL.Fma(a2, b, c22); c32 = TL.Fma(a3, b, c32);
            b = TL.Load(ref x3, i);
            c03 = TL.Fma(a0, b, c03); c13 = TL.Fma(a1, b, c13); c23 = TL.Fma(a2, b, c23); c33 = TL.Fma(a3, b, c33);
        }
        Store(ref y, yStride, 0, TL.Sum(c00), TL.Sum(c10), TL.Sum(c20), TL.Sum(c30), ref w, ref x, i, n);
        Store(ref y, yStride, 1, TL.Sum(c01), TL.Sum(c11), TL.Sum(c21), TL.Sum(c31), ref w, ref x1, i, n);
        Store(ref y, yStride, 2, TL.Sum(c02), TL.Sum(c12), TL.Sum(c22), TL.Sum(c32), ref w, ref x2, i, n);
        Store(ref y, yStride, 3, TL.Sum(c03), TL.Sum(c13), TL.Sum(c23), TL.Sum(c33), ref w, ref x3, i, n);
    }

    // The vector operations the tile needs, one struct per width, so one generic body serves both (the JIT compiles
    // a copy per struct with the calls inlined).
    private interface ILanes<TV> where TV : struct
    {
        static abstract int Count { get; }
        static abstract TV Load(ref float p, int i);
        static abstract TV Fma(TV a, TV b, TV c);
        static abstract float Sum(TV v);
    }

    private readonly struct Lanes512 : ILanes<Vector512<float>>
    {
        public static int Count => Vector512<float>.Count;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(ref float p, int i) => Vector512.LoadUnsafe(ref p, (nuint)i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> v) => Vector512.Sum(v);
    }

    private readonly struct Lanes256 : ILanes<Vector256<float>>
    {
        public static int Count => Vector256<float>.Count;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(ref float p, int i) => Vector256.LoadUnsafe(ref p, (nuint)i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> v) => Vector256.Sum(v);
    }

    // Token t's four row sums, each finished with the remainder inputs [i, n) in order (as Dot does).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(ref float y, int yStride, int t, float s0, float s1, float s2, float s3, ref float w, ref float xt, int i, int n)
    {
        for (int k = i; k < n; k++)
        {
            float xk = Unsafe.Add(ref xt, k);
            s0 = MathF.FusedMultiplyAdd(Unsafe.Add(ref w, k), xk, s0);
            s1 = MathF.FusedMultiplyAdd(Unsafe.Add(ref w, n + k), xk, s1);
            s2 = MathF.FusedMultiplyAdd(Unsafe.Add(ref w, 2 * n + k), xk, s2);
            s3 = MathF.FusedMultiplyAdd(Unsafe.Add(ref w, 3 * n + k), xk, s3);
        }
        ref float row = ref Unsafe.Add(ref y, t * yStride);
        row = s0;
        Unsafe.Add(ref row, 1) = s1;
        Unsafe.Add(ref row, 2) = s2;
        Unsafe.Add(ref row, 3) = s3;
    }
}
