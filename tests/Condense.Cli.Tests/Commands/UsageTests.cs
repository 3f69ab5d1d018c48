namespace Condense.Cli.Tests.Commands;

/// <summary>Exit codes and help, as documented in README.md: 0 ok, 1 failure, 2 bad usage or input.</summary>
public sealed class UsageTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("doctor", "--help")]
    public void HelpExitsZeroAndDescribesOptions(params string[] args)
    {
        var r = CliProcess.Run(args);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Usage:", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownOptionIsBadUsageWithOneLine()
    {
        var r = CliProcess.Run("doctor", "--frobnicate");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--frobnicate", r.Stderr, StringComparison.Ordinal);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void UnknownCommandIsBadUsage()
    {
        var r = CliProcess.Run("distil-everything");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("distil-everything", r.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("'fancy'", "distill", "--progress", "fancy")]
    [InlineData("'cifar'", "train", "--dataset", "cifar")]
    [InlineData("'sgd'", "train", "--optimizer", "sgd")]
    public void ValueOutsideAnOptionsChoicesIsOneLineListingThem(string named, params string[] args)
    {
        var r = CliProcess.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(named, r.Stderr, StringComparison.Ordinal);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void ThreadsBeyondTheMachinesProcessorsIsRefusedAtOnce()
    {
        var r = CliProcess.Run("generate", "--threads", "100000", "--steps", "2");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--threads 100000: must be between 0", r.Stderr, StringComparison.Ordinal);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }
}
