// ToMe bipartite soft matching to a fixed budget: shapes, sizes, the unmerge map, exact recovery, size-weighted
// averaging and protected prefix tokens.
using Condense.Vision.TokenCompression;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.TokenCompression;

public sealed class TokenMergingTests
{
    // Every output token has at least one source, sizes count the sources, sizes sum to N per image.
    private static void AssertConsistent(MergeResult result, long batch, long n, long budget, long channels)
    {
        Assert.Equal(new[] { batch, budget, channels }, result.Tokens.shape);
        Assert.Equal(new[] { batch, budget, 1L }, result.Sizes.shape);
        Assert.Equal(new[] { batch, n }, result.Map.shape);
        Assert.Equal(ScalarType.Int64, result.Map.dtype);
        Assert.True(result.Map.min().item<long>() >= 0);
        Assert.True(result.Map.max().item<long>() < budget);
        var sums = result.Sizes.sum([1, 2]);                                              // (B)
        Assert.True(sums.eq(n).all().item<bool>(), $"sizes sum to {sums.str()}, expected {n}");
        for (long b = 0; b < batch; b++)
        {
            var counts = result.Map[b].bincount(null, budget).to_type(ScalarType.Float32);   // (N')
            Assert.True(counts.min().item<float>() >= 1, "an output token has no source");
            Assert.True(TokenAssert.Same(counts, result.Sizes[b, .., 0]), "sizes differ from the number of sources");
        }
        Assert.Equal(new[] { batch, n, channels }, result.Unmerge(result.Tokens).shape);
    }

    [Theory]
    [InlineData(64, 16, 0)]
    [InlineData(64, 1, 0)]
    [InlineData(64, 64, 0)]
    [InlineData(65, 7, 1)]
    [InlineData(50, 13, 3)]
    [InlineData(17, 5, 4)]
    [InlineData(10, 10, 2)]
    [InlineData(2, 1, 0)]
    [InlineData(256, 16, 5)]
    public void MergeToBudgetMeetsTheBudgetExactly(int n, int budget, int prefix)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(3, n, 8, generator: new Generator(7));
        var result = TokenMerging.MergeToBudget(x, budget, prefix);
        AssertConsistent(result, 3, n, budget, 8);
        Assert.True(TokenAssert.Same(result.Tokens.narrow(1, 0, prefix), x.narrow(1, 0, prefix)));
    }

    [Theory]
    [InlineData(64, 16, 0, 1)]
    [InlineData(64, 16, 2, 5)]
    [InlineData(33, 4, 1, 8)]
    public void SmallerRoundsStillMeetTheBudget(int n, int budget, int prefix, int mergesPerRound)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, n, 4, generator: new Generator(3));
        var result = TokenMerging.MergeToBudget(x, budget, prefix, mergesPerRound: mergesPerRound);
        AssertConsistent(result, 2, n, budget, 4);
    }

    [Fact]
    public void OneRoundRemovesExactlyR()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, 21, 4, generator: new Generator(5));
        Assert.Equal(10, TokenMerging.MaxMergesPerRound(21, 1));     // 20 unprotected: |A| = |B| = 10
        Assert.Equal(11, TokenMerging.MaxMergesPerRound(21, 0));     // 21 unprotected: |A| = 11, |B| = 10
        Assert.Equal(0, TokenMerging.MaxMergesPerRound(3, 2));
        foreach (var r in new[] { 0, 1, 6, 10 })
            AssertConsistent(TokenMerging.BipartiteSoftMatching(x, r, protectedPrefix: 1), 2, 21, 21 - r, 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenMerging.BipartiteSoftMatching(x, 11, 1));
    }

    [Fact]
    public void ImpossibleBudgetsAreRejected()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(1, 10, 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenMerging.MergeToBudget(x, 11));
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenMerging.MergeToBudget(x, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenMerging.MergeToBudget(x, 3, protectedPrefix: 3));
        Assert.Throws<ArgumentException>(() => TokenMerging.MergeToBudget(x, 5, metric: torch.randn(1, 9, 4)));
    }

    // Tokens in identical pairs, A token i equal to B token perm(i): the best match of every A token is its twin
    // (cosine 1), merging all N/2 pairs averages equal vectors, and unmerging gives the input back bit for bit.
    [Theory]
    [InlineData(32, 0)]
    [InlineData(64, 3)]
    public void IdenticalPairsAreRecoveredExactly(int n, int prefix)
    {
        using var scope = torch.NewDisposeScope();
        var generator = new Generator(11);
        int pairs = n / 2;
        var distinct = torch.randn(2, pairs, 16, generator: generator);                  // (B, N/2, C)
        var perm = torch.randperm(pairs, generator: generator);                           // (N/2)
        var twins = distinct.index_select(1, perm);                                       // (B, N/2, C)
        var patches = torch.stack([distinct, twins], 2).reshape(2, n, 16);                // A = distinct, B = twins
        var x = torch.cat([torch.randn(2, prefix, 16, generator: generator), patches], 1);   // (B, p + N, C)

        var result = TokenMerging.MergeToBudget(x, prefix + pairs, prefix);
        AssertConsistent(result, 2, prefix + n, prefix + pairs, 16);
        Assert.True(TokenAssert.Same(result.Unmerge(result.Tokens), x));
        Assert.True(result.Sizes.narrow(1, prefix, pairs).eq(2).all().item<bool>());
        // the kept tokens are the B tokens, in order
        Assert.True(TokenAssert.Same(result.Tokens.narrow(1, prefix, pairs), twins));
    }

    // Five 2-D tokens: A = t0, t2, t4 and B = t1, t3. Round 1 (budget 2) merges every A token into the B token with
    // the same direction: {t0, t1} → (2, 0) size 2 and {t2, t3, t4} → (0, 5) size 3. Round 2 (budget 1) must weight
    // by size, giving the mean of all five, (0.8, 3); an unweighted mean would give (1, 2.5).
    [Fact]
    public void MergingIsSizeWeighted()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new float[] { 1, 0, 3, 0, 0, 2, 0, 4, 0, 9 }).reshape(1, 5, 2);

        var two = TokenMerging.MergeToBudget(x, 2);
        Assert.True(two.Tokens.allclose(torch.tensor(new float[] { 2, 0, 0, 5 }).reshape(1, 2, 2)));
        Assert.True(TokenAssert.Same(two.Sizes, torch.tensor(new float[] { 2, 3 }).reshape(1, 2, 1)));
        Assert.True(TokenAssert.Same(two.Map, torch.tensor(new long[] { 0, 0, 1, 1, 1 }).reshape(1, 5)));
        Assert.True(two.Unmerge(two.Tokens).allclose(
            torch.tensor(new float[] { 2, 0, 2, 0, 0, 5, 0, 5, 0, 5 }).reshape(1, 5, 2)));

        var one = TokenMerging.MergeToBudget(x, 1);
        var mean = torch.tensor(new float[] { 0.8f, 3 }).reshape(1, 1, 2);
        Assert.True(one.Tokens.allclose(mean, rtol: 1e-6, atol: 1e-6));
        Assert.True(TokenAssert.Same(one.Sizes, torch.tensor(new float[] { 5 }).reshape(1, 1, 1)));
    }

    // Prefix tokens that are copies of patch tokens would be their best matches; they must still stay first,
    // unchanged, with size 1, and no patch token may map onto them.
    [Fact]
    public void ProtectedPrefixTokensAreNeverMerged()
    {
        using var scope = torch.NewDisposeScope();
        var patches = torch.randn(2, 40, 6, generator: new Generator(13));                // (B, 40, C)
        var prefix = patches.narrow(1, 1, 3).clone();                                     // copies of B tokens
        var x = torch.cat([prefix, patches], 1);                                          // (B, 43, C)

        var result = TokenMerging.MergeToBudget(x, 8, protectedPrefix: 3);
        AssertConsistent(result, 2, 43, 8, 6);
        Assert.True(TokenAssert.Same(result.Tokens.narrow(1, 0, 3), prefix));
        Assert.True(result.Sizes.narrow(1, 0, 3).eq(1).all().item<bool>());
        var own = torch.arange(3, dtype: ScalarType.Int64).expand(2, 3);
        Assert.True(TokenAssert.Same(result.Map.narrow(1, 0, 3), own));
        Assert.True(result.Map.narrow(1, 3, 40).ge(3).all().item<bool>());
    }

    // The metric, not the tokens, decides the matching: a metric in identical pairs makes each token share an
    // output with its twin, whatever the token values are, and the output is the mean of the pair.
    [Fact]
    public void TheMetricDrivesTheMatching()
    {
        using var scope = torch.NewDisposeScope();
        var generator = new Generator(17);
        var x = torch.randn(1, 16, 3, generator: generator);                             // (1, 16, 3)
        var keys = torch.randn(1, 8, 5, generator: generator);
        var metric = torch.stack([keys, keys], 2).reshape(1, 16, 5);                      // twins at 2i, 2i + 1

        var result = TokenMerging.MergeToBudget(x, 8, metric: metric);
        var map = result.Map[0];
        Assert.True(TokenAssert.Same(map.slice(0, 0, 16, 2), map.slice(0, 1, 16, 2)));
        var pairMeans = x.view(1, 8, 2, 3).mean([2]);                                     // (1, 8, 3)
        Assert.True(result.Tokens.allclose(pairMeans, rtol: 1e-5, atol: 1e-6));
        Assert.True(result.Merge(x).allclose(result.Tokens, rtol: 1e-5, atol: 1e-6));
    }
}
