using Condense.Language.Native;

namespace Condense.Language.Tests.Native;

public sealed class NativeGemmTests
{
    private static float[] Random(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

    [Theory]
    [MemberData(nameof(NativeLlamaTests.Paths), MemberType = typeof(NativeLlamaTests))]
    public void Products_match_a_double_precision_reference_on_every_edge(VectorPath path)
    {
        var resolved = NativeKernels.Resolve(path);
        var rng = new Random(11);
        // Rows and tokens off the 4x4 tile, inputs off the vector width, and one shape big enough to be split over threads.
        foreach (var (rows, n, tokens) in new[] { (1, 1, 1), (3, 7, 2), (4, 16, 4), (5, 17, 5), (9, 64, 7), (8, 33, 3), (13, 100, 9), (520, 1030, 6) })
        {
            var w = Random(rng, rows * n);
            var x = Random(rng, tokens * n);
            var y = new float[tokens * rows + 3];
            NativeGemm.MatMul(w, x, tokens, n, y, 3, rows, resolved, threads: 2);
            for (int t = 0; t < tokens; t++)
                for (int o = 0; o < rows; o++)
                {
                    double exact = 0;
                    for (int i = 0; i < n; i++) exact += (double)w[o * n + i] * x[t * n + i];
                    Assert.InRange(y[3 + t * rows + o], exact - 1e-4 * Math.Sqrt(n), exact + 1e-4 * Math.Sqrt(n));
                }
            Assert.Equal([0f, 0f, 0f], y[..3]);
        }
    }

    [Theory]
    [MemberData(nameof(NativeLlamaTests.Paths), MemberType = typeof(NativeLlamaTests))]
    public void A_token_s_result_does_not_depend_on_its_block_or_the_thread_count(VectorPath path)
    {
        var resolved = NativeKernels.Resolve(path);
        var rng = new Random(5);
        int rows = 1030, n = 1040, tokens = 11;   // 1030 rows: a 2-row edge after the tiles; 1040 inputs: a remainder after 16-wide steps
        var w = Random(rng, rows * n);
        var x = Random(rng, tokens * n);
        var all = new float[tokens * rows];
        NativeGemm.MatMul(w, x, tokens, n, all, 0, rows, resolved, threads: 1);
        var split = new float[tokens * rows];
        NativeGemm.MatMul(w, x, tokens, n, split, 0, rows, resolved, threads: 2);
        Assert.Equal(all, split);
        for (int t = 0; t < tokens; t++)
        {
            var alone = new float[rows];
            NativeGemm.MatMul(w, x.AsSpan(t * n, n), 1, n, alone, rows, resolved);
            Assert.Equal(all.AsSpan(t * rows, rows).ToArray(), alone);
        }
    }

    [Theory]
    [MemberData(nameof(NativeLlamaTests.Paths), MemberType = typeof(NativeLlamaTests))]
    public void A_packed_2_4_product_equals_the_dense_product_of_its_unpacked_weights_bit_for_bit(VectorPath path)
    {
        var resolved = NativeKernels.Resolve(path);
        var rng = new Random(9);
        int rows = 1030, n = 96, tokens = 15;   // over NativeGemm.ParallelMinimum, so two threads split it
        var dense = new float[rows * n];
        for (int g = 0; g < dense.Length / 4; g++)
        {
            int a = rng.Next(4), b = (a + 1 + rng.Next(3)) % 4;
            dense[4 * g + a] = (float)(rng.NextDouble() * 2 - 1);
            dense[4 * g + b] = (float)(rng.NextDouble() * 2 - 1);
        }
        var packed = Packed24Matrix.Pack(dense, rows, n);
        var x = Random(rng, tokens * n);
        var expected = new float[tokens * rows];
        NativeGemm.MatMul(dense, x, tokens, n, expected, 0, rows, resolved, threads: 1);
        foreach (int threads in new[] { 1, 2 })
        {
            var actual = new float[tokens * rows + 5];
            NativeGemm.MatMul(packed, x, tokens, actual, 5, resolved, threads);
            Assert.Equal(expected, actual[5..]);
        }
    }

    [Fact]
    public void Mismatched_shapes_are_refused()
    {
        var ok = new float[16];
        Assert.Throws<ArgumentException>(() => NativeGemm.MatMul(new float[15], ok, 4, 4, ok, 4, VectorPath.Auto));
        Assert.Throws<ArgumentException>(() => NativeGemm.MatMul(ok, new float[15], 4, 4, ok, 4, VectorPath.Auto));
        Assert.Throws<ArgumentException>(() => NativeGemm.MatMul(ok, ok, 4, 4, new float[15], 4, VectorPath.Auto));
    }
}
