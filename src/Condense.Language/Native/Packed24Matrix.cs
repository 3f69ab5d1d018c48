// A 2:4 sparse matrix (every group of 4 consecutive inputs of a row keeps at most 2 weights; the layout of
// Sparsity/TwoFour) stored as its kept values plus a 2-bit position per value: half the value bytes of the dense
// matrix and 1 bit per weight of indices, 2.125 bytes per weight against 4 (a byte ratio of 1.88).
//
// Layout, row-major: Values (rows, in/2) holds each group's two kept values in input order; Positions (rows, in/32)
// holds, per 16 consecutive values (8 groups, 32 inputs), one uint whose bits 2k..2k+1 are value k's position in its
// group (0..3). A group that keeps fewer than 2 non-zeros stores zeros at unused positions.
//
// Three matrix-vector kernels compute the same products: a plain reference; an AVX-512 one that expands 16 positions
// with one shift and mask and selects the matching 16 of 32 inputs with one two-source permute (vpermt2ps); and an AVX2
// one for CPUs without AVX-512, which selects within 128-bit lanes from a reordered copy of x (Rows256).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Condense.Language.Native;

/// <summary>A 2:4 sparse matrix in packed form.</summary>
public sealed class Packed24Matrix
{
    private Packed24Matrix(int rows, int columns, float[] values, uint[] positions)
    {
        Rows = rows;
        Columns = columns;
        Values = values;
        Positions = positions;
    }

    /// <summary>Output size.</summary>
    public int Rows { get; }

    /// <summary>Input size (a multiple of 32).</summary>
    public int Columns { get; }

    /// <summary>Kept values, (rows, columns / 2).</summary>
    public float[] Values { get; }

    /// <summary>2-bit positions, 16 per uint, (rows, columns / 32).</summary>
    public uint[] Positions { get; }

    /// <summary>Bytes of values and positions.</summary>
    public long Bytes => Values.LongLength * 4 + Positions.LongLength * 4;

    /// <summary>Whether a fast kernel (AVX-512 or AVX2) can run on this CPU.</summary>
    public static bool FastKernelSupported => FastKernel != VectorPath.Scalar;

    /// <summary>The widest kernel this CPU runs: Vector512 (AVX-512), Vector256 (AVX2 and FMA) or Scalar (the reference).</summary>
    public static VectorPath FastKernel => Kernel(VectorPath.Auto);

    // The kernel a requested width runs on this CPU: the widest the CPU has up to the one requested.
    private static VectorPath Kernel(VectorPath requested) => requested switch
    {
        VectorPath.Scalar => VectorPath.Scalar,
        VectorPath.Vector256 => Avx2.IsSupported && Fma.IsSupported ? VectorPath.Vector256 : VectorPath.Scalar,
        _ => Avx512F.IsSupported ? VectorPath.Vector512 : Kernel(VectorPath.Vector256),
    };

    /// <summary>Packs a dense row-major (rows, columns) matrix that is 2:4 along its rows; a group with more than two non-zeros is an error.</summary>
    public static Packed24Matrix Pack(ReadOnlySpan<float> dense, int rows, int columns)
    {
        if (columns % 32 != 0) throw new ArgumentException($"the input size {columns} must be a multiple of 32", nameof(columns));
        if (dense.Length != (long)rows * columns) throw new ArgumentException($"{dense.Length} values are not ({rows}, {columns})", nameof(dense));
        var values = new float[rows * (columns / 2)];
        var positions = new uint[rows * (columns / 32)];
        Span<int> chosen = stackalloc int[2];
        for (int r = 0; r < rows; r++)
            for (int g = 0; g < columns / 4; g++)
            {
                var group = dense.Slice(r * columns + 4 * g, 4);
                int kept = 0;
                for (int i = 0; i < 4; i++)
                    if (group[i] != 0)
                    {
                        if (kept == 2) throw new ArgumentException($"row {r}, inputs {4 * g}..{4 * g + 3} keep more than 2 non-zeros: not 2:4", nameof(dense));
                        chosen[kept++] = i;
                    }
                // A group with fewer than 2 non-zeros stores zeros at its first unused positions.
                for (int i = 0; kept < 2; i++)
                    if (kept == 0 || chosen[0] != i) chosen[kept++] = i;
                if (chosen[0] > chosen[1]) (chosen[0], chosen[1]) = (chosen[1], chosen[0]);
                int slot = r * (columns / 2) + 2 * g;
                Put(values, positions, slot, group[chosen[0]], chosen[0]);
                Put(values, positions, slot + 1, group[chosen[1]], chosen[1]);
            }
        return new Packed24Matrix(rows, columns, values, positions);
    }

    /// <summary>Whether every group of 4 consecutive values of <paramref name="dense"/> has at most 2 non-zeros.</summary>
    public static bool IsTwoFour(ReadOnlySpan<float> dense)
    {
        if (dense.Length % 4 != 0) return false;
        for (int g = 0; g < dense.Length; g += 4)
        {
            int nonZero = (dense[g] != 0 ? 1 : 0) + (dense[g + 1] != 0 ? 1 : 0) + (dense[g + 2] != 0 ? 1 : 0) + (dense[g + 3] != 0 ? 1 : 0);
            if (nonZero > 2) return false;
        }
        return true;
    }

    /// <summary>The dense (rows, columns) matrix.</summary>
    public float[] Unpack()
    {
        var dense = new float[Rows * Columns];
        UnpackRows(0, Rows, dense);
        return dense;
    }

    /// <summary>Writes rows [<paramref name="start"/>, start + <paramref name="count"/>) dense, row-major, into <paramref name="dense"/>.</summary>
    public void UnpackRows(int start, int count, Span<float> dense)
    {
        if (start < 0 || count < 0 || start + count > Rows || dense.Length < count * Columns) throw new ArgumentException($"rows {start}..{start + count - 1} of {Rows} do not fit {dense.Length} floats");
        int half = Columns / 2;
        dense[..(count * Columns)].Clear();
        for (int r = 0; r < count; r++)
        {
            var row = dense.Slice(r * Columns, Columns);
            int first = (start + r) * half;
            for (int k = 0; k < half; k++) row[k / 2 * 4 + Position(Positions, first + k)] += Values[first + k];
        }
    }

    /// <summary>y = W x, the plain reference.</summary>
    public void MatVecReference(ReadOnlySpan<float> x, Span<float> y)
    {
        Check(x, y);
        ReferenceRows(x, y, 0, Rows);
    }

    private void ReferenceRows(ReadOnlySpan<float> x, Span<float> y, int start, int count)
    {
        int half = Columns / 2;
        for (int r = start; r < start + count; r++)
        {
            float sum = 0;
            for (int k = 0; k < half; k++)
            {
                int s = r * half + k;
                sum += Values[s] * x[k / 2 * 4 + Position(Positions, s)];
            }
            y[r] = sum;
        }
    }

    /// <summary>y = W x with the widest kernel up to <paramref name="path"/> this CPU runs (<see cref="FastKernel"/> by default).</summary>
    public void MatVec(ReadOnlySpan<float> x, Span<float> y, VectorPath path = VectorPath.Auto)
    {
        Check(x, y);
        MatVecRows(x, y, 0, Rows, path);
    }

    /// <summary>y[r] = (W x)[r] for rows [<paramref name="start"/>, start + <paramref name="count"/>) (y has all Rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void MatVecRows(ReadOnlySpan<float> x, Span<float> y, int start, int count, VectorPath path = VectorPath.Auto)
    {
        if (x.Length != Columns || y.Length < start + count) throw new ArgumentException($"x has {x.Length} values and y {y.Length}; the matrix is ({Rows}, {Columns})");
        switch (Kernel(path))
        {
            case VectorPath.Vector512:
                Rows512(x, y, start, count);
                break;
            case VectorPath.Vector256:
                Rows256(x, y, start, count);
                break;
            default:
                ReferenceRows(x, y, start, count);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Rows512(ReadOnlySpan<float> x, Span<float> y, int start, int count)
    {
        int chunks = Columns / 32, half = Columns / 2;
        var shifts = Vector512.Create(0u, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var bases = Vector512.Create(0, 0, 4, 4, 8, 8, 12, 12, 16, 16, 20, 20, 24, 24, 28, 28);
        var three = Vector512.Create(3u);
        ref float rx = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        for (int r = start; r < start + count; r++)
        {
            ref float rv = ref Values[r * half];
            ref uint rp = ref Positions[r * chunks];
            Vector512<float> acc0 = default, acc1 = default;
            int c = 0;
            for (; c + 1 < chunks; c += 2)
            {
                acc0 = Chunk(ref rx, ref rv, ref rp, c, shifts, bases, three, acc0);
                acc1 = Chunk(ref rx, ref rv, ref rp, c + 1, shifts, bases, three, acc1);
            }
            if (c < chunks) acc0 = Chunk(ref rx, ref rv, ref rp, c, shifts, bases, three, acc0);
            y[r] = Vector512.Sum(acc0 + acc1);
        }
    }

    // AVX2. x is first copied "crossed": every 16 inputs (groups g0 g1 g2 g3) as [g0 g2 | g1 g3], so one 8-float load
    // holds g0 in its low 128-bit half and g2 in its high half. An in-lane permute (vpermilps, which reads only the low
    // 2 bits of each index: the 2-bit positions need no mask and no base) then puts g0's two kept inputs in lanes 0-1
    // and g2's in lanes 4-5; the same permute of the [g1 | g3] load puts g1's in lanes 2-3 and g3's in 6-7; one blend
    // joins them in the values' own order (g0 g0 g1 g1 g2 g2 g3 g3). Per 8 values: a shift, two permutes, a blend and
    // an FMA. Two accumulators, one per 8-value half of each 32 inputs, summed at the end of the row.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Rows256(ReadOnlySpan<float> x, Span<float> y, int start, int count)
    {
        int chunks = Columns / 32, half = Columns / 2;
        var crossedX = crossed is { } buffer && buffer.Length >= Columns ? buffer : crossed = new float[Columns];
        for (int i = 0; i < Columns; i += 16)
        {
            x.Slice(i, 4).CopyTo(crossedX.AsSpan(i));
            x.Slice(i + 8, 4).CopyTo(crossedX.AsSpan(i + 4));
            x.Slice(i + 4, 4).CopyTo(crossedX.AsSpan(i + 8));
            x.Slice(i + 12, 4).CopyTo(crossedX.AsSpan(i + 12));
        }
        var lowShifts = Vector256.Create(0u, 2, 4, 6, 8, 10, 12, 14);
        var highShifts = Vector256.Create(16u, 18, 20, 22, 24, 26, 28, 30);
        ref float rx = ref crossedX[0];
        for (int r = start; r < start + count; r++)
        {
            ref float rv = ref Values[r * half];
            ref uint rp = ref Positions[r * chunks];
            Vector256<float> acc0 = default, acc1 = default;
            for (int c = 0; c < chunks; c++)
            {
                var bits = Vector256.Create(Unsafe.Add(ref rp, c));
                var low = Avx2.ShiftRightLogicalVariable(bits, lowShifts).AsInt32();     // (8) positions of values 0-7 in bits 0-1
                var high = Avx2.ShiftRightLogicalVariable(bits, highShifts).AsInt32();   // (8) values 8-15
                nuint at = (nuint)(32 * c);
                var selectedLow = Avx.Blend(Avx.PermuteVar(Vector256.LoadUnsafe(ref rx, at), low),
                    Avx.PermuteVar(Vector256.LoadUnsafe(ref rx, at + 8), low), 0b1100_1100);
                var selectedHigh = Avx.Blend(Avx.PermuteVar(Vector256.LoadUnsafe(ref rx, at + 16), high),
                    Avx.PermuteVar(Vector256.LoadUnsafe(ref rx, at + 24), high), 0b1100_1100);
                acc0 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref rv, (nuint)(16 * c)), selectedLow, acc0);
                acc1 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref rv, (nuint)(16 * c + 8)), selectedHigh, acc1);
            }
            y[r] = Vector256.Sum(acc0 + acc1);
        }
    }

    [ThreadStatic]
    private static float[]? crossed;   // the AVX2 kernel's reordered copy of x, one per thread

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Select(Vector512<float> lo, Vector512<float> hi, ref float rv, ref uint rp, int c, Vector512<uint> shifts, Vector512<int> bases,
        Vector512<uint> three, Vector512<float> acc)
    {
        var offsets = Avx512F.ShiftRightLogicalVariable(Vector512.Create(Unsafe.Add(ref rp, c)), shifts) & three;   // (16) 0..3
        var selected = Avx512F.PermuteVar16x32x2(lo, offsets.AsInt32() + bases, hi);                               // (16) x at the kept inputs
        return Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref rv, (nuint)(16 * c)), selected, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Chunk(ref float rx, ref float rv, ref uint rp, int c, Vector512<uint> shifts, Vector512<int> bases, Vector512<uint> three, Vector512<float> acc) =>
        Select(Vector512.LoadUnsafe(ref rx, (nuint)(32 * c)), Vector512.LoadUnsafe(ref rx, (nuint)(32 * c + 16)), ref rv, ref rp, c, shifts, bases, three, acc);

    private void Check(ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length != Columns || y.Length != Rows) throw new ArgumentException($"x has {x.Length} values and y {y.Length}; the matrix is ({Rows}, {Columns})");
    }

    private static int Position(uint[] positions, int slot) => (int)(positions[slot / 16] >> (2 * (slot % 16))) & 3;

    private static void Put(float[] values, uint[] positions, int slot, float value, int position)
    {
        values[slot] = value;
        positions[slot / 16] = (positions[slot / 16] & ~(3u << (2 * (slot % 16)))) | ((uint)position << (2 * (slot % 16)));
    }
}
