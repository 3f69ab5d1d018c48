using Condense.Experiments.Deployment;

namespace Condense.Experiments.Tests.Deployment;

public sealed class RoutedMlpBenchmarkTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("condense-bench-routed-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Every_token_is_routed_to_the_width_under_test_and_every_round_gives_a_ratio()
    {
        var result = RoutedMlpBenchmark.Run(new RoutedMlpBenchmarkOptions { Models = ["stories260K"], Rounds = 2, PrefillTokens = 8, DecodeTokens = 4, WorkDir = dir });
        Assert.Equal([43, 86, 129], result.Rows.Select(r => r.Neurons));
        Assert.All(result.Rows, r =>
        {
            Assert.Equal((double)r.Neurons / r.HiddenDim, r.RoutedShare, 1e-12);
            Assert.Equal(2, r.RoutedOverStaticDecode.Count);
            Assert.All(r.RoutedOverStaticPrefill, v => Assert.True(v > 0 && double.IsFinite(v)));
        });
        Assert.Contains("| stories260K (dim 64) | 86 of 172 |", RoutedMlpBenchmark.Markdown(result), StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_longer_than_the_context_names_the_option()
    {
        var ex = Assert.Throws<Condense.Core.InputException>(() =>
            RoutedMlpBenchmark.Run(new RoutedMlpBenchmarkOptions { Models = ["stories260K"], PrefillTokens = 500, DecodeTokens = 32, WorkDir = dir }));
        Assert.Contains("DecodeTokens", ex.Message, StringComparison.Ordinal);
    }
}
