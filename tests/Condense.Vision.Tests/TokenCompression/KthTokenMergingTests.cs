// ToMe with every k-th token as a destination: exactly N/k outputs, the right destinations, the plain mean.
using Condense.Vision.TokenCompression;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.TokenCompression;

public sealed class KthTokenMergingTests
{
    [Theory]
    [InlineData(64, 4, 0)]
    [InlineData(64, 16, 0)]
    [InlineData(256, 16, 0)]
    [InlineData(36, 3, 2)]
    [InlineData(12, 1, 0)]
    [InlineData(20, 20, 0)]
    public void GivesExactlyNOverKTokens(int n, int k, int prefix)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, prefix + n, 5, generator: new Generator(19));
        var result = KthTokenMerging.Merge(x, k, prefix);
        long outputs = prefix + n / k;
        Assert.Equal(new[] { 2L, outputs, 5L }, result.Tokens.shape);
        Assert.True(result.Sizes.sum([1, 2]).eq(prefix + n).all().item<bool>());
        Assert.Equal(new[] { 2L, prefix + n, 5L }, result.Unmerge(result.Tokens).shape);
        Assert.True(TokenAssert.Same(result.Tokens.narrow(1, 0, prefix), x.narrow(1, 0, prefix)));
        // every destination (last of each run of k) stays in its own output token, in order
        var destinations = result.Map.narrow(1, prefix, n).view(2, n / k, k).select(2, k - 1);   // (B, N/k)
        var own = torch.arange(prefix, outputs, dtype: ScalarType.Int64).expand(2, n / k);
        Assert.True(TokenAssert.Same(destinations, own));
        if (k == 1) Assert.True(TokenAssert.Same(result.Tokens, x));
    }

    // k = 4 on eight 2-D tokens: destinations t3 = (1, 0) and t7 = (0, 1); each source joins the destination with
    // the closer direction, and each output is the plain mean of its group.
    [Fact]
    public void SourcesJoinTheirMostSimilarDestination()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new float[]
        {
            2, 1,   1, 3,   4, 0,   1, 0,      // t0 → d0, t1 → d1, t2 → d0, t3 = d0
            0, 5,   3, 0,   1, 1.5f, 0, 1,     // t4 → d1, t5 → d0, t6 → d1, t7 = d1
        }).reshape(1, 8, 2);
        var result = KthTokenMerging.Merge(x, 4);
        Assert.True(TokenAssert.Same(result.Map, torch.tensor(new long[] { 0, 1, 0, 0, 1, 0, 1, 1 }).reshape(1, 8)));
        // d0 = mean(t0, t2, t3, t5) = (10, 1) / 4; d1 = mean(t1, t4, t6, t7) = (2, 10.5) / 4
        var expected = torch.tensor(new float[] { 2.5f, 0.25f, 0.5f, 2.625f }).reshape(1, 2, 2);
        Assert.True(result.Tokens.allclose(expected, rtol: 1e-6, atol: 1e-6));
        Assert.True(TokenAssert.Same(result.Sizes, torch.tensor(new float[] { 4, 4 }).reshape(1, 2, 1)));
    }

    [Fact]
    public void CountsThatAreNotMultiplesOfKAreRejected()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Throws<ArgumentException>(() => KthTokenMerging.Merge(torch.randn(1, 10, 3), 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => KthTokenMerging.Merge(torch.randn(1, 10, 3), 0));
    }
}
