using Condense.Vision.Normalization;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Normalization;

public sealed class HadamardTests
{
    private static void AssertHadamard(Tensor h, int n)
    {
        Assert.Equal(new long[] { n, n }, h.shape);
        Assert.Equal(ScalarType.Float64, h.dtype);
        var gram = h.matmul(h.t());                                              // (n, n)
        Assert.True((gram - eye(n, dtype: ScalarType.Float64)).abs().max().item<double>() < 1e-10, $"H·Hᵀ ≠ I, n={n}");
        var deviation = (h.abs() - 1.0 / Math.Sqrt(n)).abs().max().item<double>();
        Assert.True(deviation < 1e-15, $"entries are not ±1/√{n}: off by {deviation}");
    }

    [Theory]
    [InlineData(64, "Sylvester(64)")]
    [InlineData(128, "Sylvester(128)")]
    [InlineData(256, "Sylvester(256)")]
    [InlineData(384, "Sylvester(32) ⊗ PaleyI(12)")]
    [InlineData(512, "Sylvester(512)")]
    [InlineData(768, "Sylvester(64) ⊗ PaleyI(12)")]
    [InlineData(1000, "Sylvester(2) ⊗ PaleyI(500)")]
    [InlineData(1024, "Sylvester(1024)")]
    [InlineData(1152, "Sylvester(32) ⊗ PaleyII(36)")]
    [InlineData(1280, "Sylvester(64) ⊗ PaleyI(20)")]
    [InlineData(1408, "Sylvester(32) ⊗ PaleyI(44)")]
    public void Teacher_widths_have_a_construction_that_is_orthogonal_with_entries_one_over_sqrt_n(
        int n, string construction)
    {
        using var scope = NewDisposeScope();
        Assert.Equal(construction, Hadamard.Describe(n));
        Assert.True(Hadamard.Exists(n));
        AssertHadamard(Hadamard.Create(n), n);
    }

    [Fact]
    public void Every_small_order_with_a_construction_is_a_Hadamard_matrix()
    {
        using var scope = NewDisposeScope();
        var built = new List<int>();
        for (int n = 1; n <= 200; n++)
        {
            if (!Hadamard.TryCreate(n, out var h)) continue;
            AssertHadamard(h, n);
            built.Add(n);
        }
        // No Hadamard matrix exists for n > 2 not divisible by 4, so none may be claimed.
        Assert.All(built, n => Assert.True(n <= 2 || n % 4 == 0, $"order {n}"));
        // Paley I (12 = 11 + 1) and Paley II (28 = 2·(13 + 1), 36 = 2·(17 + 1)) on their own and in products;
        // 52 would need Paley II over GF(5²).
        Assert.Equal("PaleyI(12)", Hadamard.Describe(12));
        Assert.Equal("PaleyII(28)", Hadamard.Describe(28));
        Assert.Equal("PaleyII(36)", Hadamard.Describe(36));
        Assert.False(Hadamard.Exists(52));
        Assert.Equal("Sylvester(2) ⊗ PaleyI(12)", Hadamard.Describe(24));
        Assert.Equal(new[] { 1, 2, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48 }, built.TakeWhile(n => n <= 48));
    }

    [Theory]
    [InlineData(6)]
    [InlineData(92)]
    [InlineData(100)]
    [InlineData(1001)]
    public void Orders_without_a_construction_fail_clearly(int n)
    {
        Assert.False(Hadamard.TryCreate(n, out var h));
        Assert.Null(h);
        Assert.False(Hadamard.Exists(n));
        Assert.Null(Hadamard.Describe(n));
        var error = Assert.Throws<ArgumentException>(() => Hadamard.Create(n));
        Assert.Contains($"order {n}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Orthogonal_fallback_is_deterministic_orthogonal_and_not_Hadamard()
    {
        using var scope = NewDisposeScope();
        var a = Hadamard.CreateOrOrthogonal(100, seed: 3);                      // (100, 100)
        var b = Hadamard.CreateOrOrthogonal(100, seed: 3);
        var other = Hadamard.CreateOrOrthogonal(100, seed: 4);
        Assert.True(a.Same(b));
        Assert.False(a.allclose(other));
        Assert.True((a.matmul(a.t()) - eye(100, dtype: ScalarType.Float64)).abs().max().item<double>() < 1e-10);
        Assert.True((a.abs() - 0.1).abs().max().item<double>() > 0.01);         // not ±1/√100
        Assert.True(Hadamard.CreateOrOrthogonal(64, seed: 3).Same(Hadamard.Create(64)));
    }
}
