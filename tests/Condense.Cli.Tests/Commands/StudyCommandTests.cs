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

    [Theory]
    [InlineData("study", "agglomeration", "--seeds", "0")]
    [InlineData("study", "maskllm-seeds", "--model", "no-such-model.bin")]
    [InlineData("bench", "conv-paths", "--rounds", "0")]
    [InlineData("bench", "conv-paths", "--models", "no_such_model")]
    public void Bad_input_to_the_new_studies_is_a_one_line_error(params string[] args)
    {
        var r = CliProcess.Run(args);
        Assert.Equal(2, r.ExitCode);
        var error = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.True(error.Contains(args[^1], StringComparison.Ordinal) || error.Contains(args[^2], StringComparison.Ordinal), error);
    }
}
