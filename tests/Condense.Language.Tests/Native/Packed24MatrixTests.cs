using Condense.Language.Native;

namespace Condense.Language.Tests.Native;

public sealed class Packed24MatrixTests
{
    // A random 2:4 matrix: each group of 4 keeps 2 (or, for some groups, fewer) non-zeros at random positions.
    private static float[] Random24(int rows, int columns, int seed)
    {
        var rng = new Random(seed);
        var w = new float[rows * columns];
        for (int g = 0; g < w.Length / 4; g++)
        {
            int a = rng.Next(4), b = (a + 1 + rng.Next(3)) % 4;
            if (rng.Next(10) > 0) w[4 * g + a] = (float)(rng.NextDouble() * 2 - 1);
            if (rng.Next(10) > 0) w[4 * g + b] = (float)(rng.NextDouble() * 2 - 1);
        }
        return w;
    }

    [Theory]
    [InlineData(1, 32)]
    [InlineData(7, 64)]
    [InlineData(64, 96)]
    [InlineData(33, 1024)]
    public void Packing_round_trips_and_every_kernel_equals_the_dense_product(int rows, int columns)
    {
        var dense = Random24(rows, columns, rows * 31 + columns);
        var packed = Packed24Matrix.Pack(dense, rows, columns);
        Assert.Equal(dense, packed.Unpack());
        Assert.Equal(rows * columns / 2 * 4 + rows * columns / 32 * 4, packed.Bytes);
        var rng = new Random(5);
        var x = Enumerable.Range(0, columns).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var expected = Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, columns).Sum(c => (double)dense[r * columns + c] * x[c])).ToArray();
        var reference = new float[rows];
        packed.MatVecReference(x, reference);
        for (int r = 0; r < rows; r++) Assert.InRange(reference[r], expected[r] - 1e-4, expected[r] + 1e-4);
        // Every kernel this CPU has: AVX-512 where present, AVX2, and the reference (a width the CPU lacks falls back).
        foreach (var path in new[] { VectorPath.Vector512, VectorPath.Vector256, VectorPath.Scalar })
        {
            var fast = new float[rows];
            packed.MatVec(x, fast, path);
            for (int r = 0; r < rows; r++) Assert.InRange(fast[r], expected[r] - 1e-4, expected[r] + 1e-4);
        }
    }

    [Fact]
    public void A_group_with_three_weights_or_a_ragged_width_is_refused()
    {
        var dense = new float[32];
        dense[0] = dense[1] = dense[2] = 1;
        Assert.Contains("not 2:4", Assert.Throws<ArgumentException>(() => Packed24Matrix.Pack(dense, 1, 32)).Message);
        Assert.Throws<ArgumentException>(() => Packed24Matrix.Pack(new float[40], 1, 40));
    }
}
