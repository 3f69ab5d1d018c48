// Dense matrix-vector products from DRAM: the native engine's kernel reading the rows of W one after another against four
// side by side (RowGrouping), on one thread, with a plain streaming read of the same bytes as the ceiling. Each shape
// gets enough matrices to exceed the caches (WorkingSetBytes), as batch-1 decode of a model larger than the L3 does;
// the variants alternate within each round and the ratio is taken per round.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using Condense.Language.Native;

namespace Condense.Experiments.Deployment;

/// <summary>One shape.</summary>
/// <param name="Rows">Output size.</param>
/// <param name="Columns">Input size.</param>
/// <param name="Matrices">How many distinct matrices each pass walks.</param>
/// <param name="OneRowGBs">Median GB/s of weights read, one row after another.</param>
/// <param name="FourRowsGBs">Median GB/s, four rows side by side.</param>
/// <param name="EngineGBs">Median GB/s of the engine's rule (RowGrouping.Auto).</param>
/// <param name="StreamGBs">Median GB/s of a plain sum over the same bytes (the ceiling).</param>
/// <param name="FourOverOne">Four rows over one row, per round.</param>
public sealed record GemvRow(int Rows, int Columns, int Matrices, double OneRowGBs, double FourRowsGBs, double EngineGBs, double StreamGBs, IReadOnlyList<double> FourOverOne);

/// <summary>The benchmark's result.</summary>
/// <param name="Rows">Per shape.</param>
/// <param name="Rounds">Rounds.</param>
/// <param name="Path">The SIMD width of the kernels.</param>
/// <param name="WorkingSetBytes">Bytes of matrices per shape.</param>
public sealed record GemvResult(IReadOnlyList<GemvRow> Rows, int Rounds, string Path, long WorkingSetBytes);

/// <summary>Runs the dense GEMV row-grouping benchmark.</summary>
public static class GemvBenchmark
{
    /// <summary>Bytes of matrices per shape: well beyond a server L3 (32 MB here).</summary>
    public const long WorkingSetBytes = 384L << 20;

    /// <summary>Times every (rows, columns) shape for <paramref name="rounds"/> alternated rounds.</summary>
    public static GemvResult Run(IReadOnlyList<(int Rows, int Columns)> shapes, int rounds, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        var path = NativeKernels.Resolve(VectorPath.Auto);
        var results = new List<GemvRow>();
        foreach (var (r, c) in shapes)
        {
            long bytes = 4L * r * c;
            int count = (int)Math.Max(1, WorkingSetBytes / bytes);
            var rng = new Random(r * 31 + c);
            var matrices = Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, r * c).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
            var x = Enumerable.Range(0, c).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var y = new float[r];
            float sink = 0;
            var variants = new (string Name, Action Pass)[]
            {
                ("one", () => { foreach (var w in matrices) NativeKernels.MatVec(w, x, y, path, RowGrouping.OneRow); }),
                ("four", () => { foreach (var w in matrices) NativeKernels.MatVec(w, x, y, path, RowGrouping.FourRows); }),
                ("engine", () => { foreach (var w in matrices) NativeKernels.MatVec(w, x, y, path, RowGrouping.Auto); }),
                ("stream", () => { foreach (var w in matrices) sink += StreamSum(w); }),
            };
            var speeds = variants.ToDictionary(v => v.Name, _ => new List<double>());
            foreach (var v in variants) v.Pass();   // warm-up: JIT, page faults
            for (int round = 0; round < rounds; round++)
                for (int i = 0; i < variants.Length; i++)
                {
                    var (name, pass) = variants[(i + round) % variants.Length];
                    var watch = Stopwatch.StartNew();
                    pass();
                    speeds[name].Add(bytes * count / watch.Elapsed.TotalSeconds / 1e9);
                }
            GC.KeepAlive(sink);
            var row = new GemvRow(r, c, count, Median(speeds["one"]), Median(speeds["four"]), Median(speeds["engine"]), Median(speeds["stream"]),
                speeds["four"].Zip(speeds["one"], (a, b) => a / b).ToList());
            results.Add(row);
            log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{r}x{c}: one row {row.OneRowGBs:F1} GB/s, four rows {row.FourRowsGBs:F1}, stream {row.StreamGBs:F1}"));
        }
        return new GemvResult(results, rounds, path.ToString(), WorkingSetBytes);
    }

    /// <summary>The result as a Markdown table.</summary>
    public static string Markdown(GemvResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(inv, $"One thread, fp32, y = W x over {result.WorkingSetBytes >> 20} MB of distinct matrices per shape (beyond the caches, as in batch-1 decode of a large model); the native engine's {result.Path} kernel reading W's rows one after another or four side by side, the engine's rule, and a plain streaming sum of the same bytes. GB/s of weights read, median of {result.Rounds} alternated rounds.");
        md.AppendLine();
        md.AppendLine("| rows x columns | one row GB/s | four rows GB/s | engine | stream sum | four / one (per round) |");
        md.AppendLine("|---|---|---|---|---|---|");
        foreach (var r in result.Rows)
            md.AppendLine(string.Create(inv, $"| {r.Rows} x {r.Columns} | {r.OneRowGBs:F1} | {r.FourRowsGBs:F1} | {r.EngineGBs:F1} | {r.StreamGBs:F1} | **{Median(r.FourOverOne):F2}** ({string.Join(", ", r.FourOverOne.Select(v => v.ToString("F2", inv)))}) |"));
        return md.ToString();
    }

    // Σ of every value, four 8-wide accumulators: the read bandwidth without any multiply.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float StreamSum(float[] values)
    {
        ref float r = ref MemoryMarshal.GetArrayDataReference(values);
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
        int i = 0;
        for (; i <= values.Length - 32; i += 32)
        {
            s0 += Vector256.LoadUnsafe(ref r, (nuint)i);
            s1 += Vector256.LoadUnsafe(ref r, (nuint)(i + 8));
            s2 += Vector256.LoadUnsafe(ref r, (nuint)(i + 16));
            s3 += Vector256.LoadUnsafe(ref r, (nuint)(i + 24));
        }
        float s = Vector256.Sum((s0 + s1) + (s2 + s3));
        for (; i < values.Length; i++) s += values[i];
        return s;
    }

    private static double Median(IReadOnlyList<double> values) => Condense.Experiments.Peers.TrainStepBenchmark.Median(values);
}
