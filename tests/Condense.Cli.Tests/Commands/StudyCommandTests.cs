namespace Condense.Cli.Tests.Commands;

public sealed class StudyCommandTests
{
    [Fact]
    public void TokenCompressionJsonHasEveryMethodAtBothRatios()
    {
        var r = CliProcess.Run("study", "token-compression", "--input-size", "32", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var rows = r.Json().GetProperty("rows").EnumerateArray().ToList();
        foreach (var method in new[] { "tome", "tome-kth", "avgpool", "unshuffle", "unshuffle-pca" })
            foreach (var ratio in new[] { 4, 16 })
                Assert.Contains(rows, row => row.GetProperty("method").GetString() == method && row.GetProperty("ratio").GetInt32() == ratio
                    && row.GetProperty("tokens_out").GetInt64() == 64 / ratio);
    }

    [Fact]
    public void BadInputSizeIsBadInput()
    {
        var r = CliProcess.Run("study", "token-compression", "--input-size", "40");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--input-size 40", r.Stderr, StringComparison.Ordinal);
    }
}
