// Packed 2:4 against dense matrix-vector products on the native engine's kernels, one thread, the same random 2:4 weights
// (dense with zeros on one side, packed on the other), alternated within each round; per-round ratios and medians.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Condense.Language.Native;

namespace Condense.Experiments.Deployment;

/// <summary>One shape.</summary>
/// <param name="Rows">Output size.</param>
/// <param name="Columns">Input size.</param>
/// <param name="DenseMicroseconds">Median time of one dense product.</param>
/// <param name="SparseMicroseconds">Median time of one packed 2:4 product.</param>
/// <param name="Speedups">Dense time over sparse time, per round.</param>
/// <param name="DenseBytes">Bytes the dense product reads (weights).</param>
/// <param name="SparseBytes">Bytes the packed product reads (values and positions).</param>
/// <param name="MaxDifference">Largest |dense − sparse| of the outputs.</param>
public sealed record SparseGemvRow(int Rows, int Columns, double DenseMicroseconds, double SparseMicroseconds, IReadOnlyList<double> Speedups,
    long DenseBytes, long SparseBytes, double MaxDifference);

/// <summary>The benchmark's result.</summary>
/// <param name="Rows">Per shape.</param>
/// <param name="Rounds">Rounds.</param>
/// <param name="Kernel">The packed kernel that ran: Vector512 (AVX-512), Vector256 (AVX2) or Scalar (the reference).</param>
/// <param name="DensePath">The dense kernel's SIMD width.</param>
public sealed record SparseGemvResult(IReadOnlyList<SparseGemvRow> Rows, int Rounds, string Kernel, string DensePath);

/// <summary>Runs the packed 2:4 GEMV benchmark.</summary>
public static class SparseGemvBenchmark
{
    /// <summary>Times every (rows, columns) shape for <paramref name="rounds"/> rounds of about <paramref name="secondsPerSide"/> each side.</summary>
    public static SparseGemvResult Run(IReadOnlyList<(int Rows, int Columns)> shapes, int rounds, double secondsPerSide = 0.3, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        var path = NativeKernels.Resolve(VectorPath.Auto);
        var rows = new List<SparseGemvRow>();
        foreach (var (r, c) in shapes)
        {
            var rng = new Random(r * 7919 + c);
            var dense = new float[(long)r * c];
            for (long g = 0; g < dense.Length / 4; g++)
            {
                int a = rng.Next(4), b = (a + 1 + rng.Next(3)) % 4;
                dense[4 * g + a] = (float)(rng.NextDouble() * 2 - 1);
                dense[4 * g + b] = (float)(rng.NextDouble() * 2 - 1);
            }
            var packed = Packed24Matrix.Pack(dense, r, c);
            var x = Enumerable.Range(0, c).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var yDense = new float[r];
            var ySparse = new float[r];
            void Dense() => NativeKernels.MatVec(dense, x, yDense, path);
            void Sparse() => packed.MatVec(x, ySparse);
            Dense();
            Sparse();
            double diff = yDense.Zip(ySparse, (p, q) => Math.Abs(p - q)).Max();
            int iterations = Math.Max(1, (int)(secondsPerSide / Math.Max(Time(Dense, 1), 1e-7)));
            var denseTimes = new List<double>();
            var sparseTimes = new List<double>();
            for (int round = 0; round < rounds; round++)
            {
                if (round % 2 == 0)
                {
                    denseTimes.Add(Time(Dense, iterations));
                    sparseTimes.Add(Time(Sparse, iterations));
                }
                else
                {
                    sparseTimes.Add(Time(Sparse, iterations));
                    denseTimes.Add(Time(Dense, iterations));
                }
            }
            var row = new SparseGemvRow(r, c, Median(denseTimes) * 1e6, Median(sparseTimes) * 1e6, denseTimes.Zip(sparseTimes, (d, s) => d / s).ToList(),
                dense.LongLength * 4, packed.Bytes, diff);
            rows.Add(row);
            log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{r}x{c}: dense {row.DenseMicroseconds:F1} us, 2:4 {row.SparseMicroseconds:F1} us, {Median(row.Speedups):F2}x"));
        }
        return new SparseGemvResult(rows, rounds, Packed24Matrix.FastKernel.ToString(), path.ToString());
    }

    /// <summary>The result as a Markdown table.</summary>
    public static string Markdown(SparseGemvResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(inv, $"One thread, fp32, y = W x with W (rows, columns) random 2:4; dense: the native engine's {result.DensePath} GEMV over the matrix with its zeros; 2:4: packed values + 2-bit positions, {result.Kernel switch { "Vector512" => "AVX-512 kernel", "Vector256" => "AVX2 kernel (no AVX-512 on this CPU)", _ => "reference kernel (neither AVX-512 nor AVX2 on this CPU)" }}. Median of {result.Rounds} alternated rounds.");
        md.AppendLine();
        md.AppendLine("| rows x columns | dense µs | 2:4 µs | speed-up (per round) | bytes read dense / 2:4 | max abs difference |");
        md.AppendLine("|---|---|---|---|---|---|");
        foreach (var r in result.Rows)
            md.AppendLine(string.Create(inv, $"| {r.Rows} x {r.Columns} | {r.DenseMicroseconds:F1} | {r.SparseMicroseconds:F1} | **{Median(r.Speedups):F2}** ({string.Join(", ", r.Speedups.Select(v => v.ToString("F2", inv)))}) | {(double)r.DenseBytes / r.SparseBytes:F2} | {r.MaxDifference:G2} |"));
        return md.ToString();
    }

    private static double Time(Action action, int iterations)
    {
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < iterations; i++) action();
        return watch.Elapsed.TotalSeconds / iterations;
    }

    private static double Median(IReadOnlyList<double> values) => Condense.Experiments.Peers.TrainStepBenchmark.Median(values);
}
