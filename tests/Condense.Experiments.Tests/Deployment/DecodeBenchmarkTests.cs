using Condense.Experiments.Deployment;

namespace Condense.Experiments.Tests.Deployment;

public sealed class DecodeBenchmarkTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("condense-bench-decode-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Every_engine_runs_the_same_rounds_and_the_table_reports_per_round_ratios()
    {
        var result = DecodeBenchmark.Run(new DecodeBenchmarkOptions
        {
            Models = ["stories260K"], Rounds = 2, PrefillTokens = 8, DecodeTokens = 8, WorkDir = dir,
        });
        var row = Assert.Single(result.Rows);
        Assert.Equal(["torch", "native", "llama.cpp"], row.Engines.Select(e => e.Engine));
        Assert.All(row.Engines, e => Assert.Equal(2, e.DecodePerRound.Count));
        Assert.Equal(2, row.NativeOverLlamaCpp.Count);
        Assert.Null(row.NativeOverPyTorch);
        Assert.Contains("| stories260K | 0.26M | 1 |", DecodeBenchmark.Markdown(result), StringComparison.Ordinal);
    }

    [Fact]
    public void A_python_that_cannot_run_is_a_one_line_error()
    {
        var script = Path.Combine(dir, "peer.py");
        File.WriteAllText(script, "");
        var ex = Assert.Throws<Condense.Core.InputException>(() => DecodeBenchmark.Run(new DecodeBenchmarkOptions
        {
            Models = ["stories260K"], Rounds = 1, PrefillTokens = 4, DecodeTokens = 4, WorkDir = dir,
            Python = Path.Combine(dir, "no-such-python"), PeerScript = script,
        }));
        Assert.Contains("cannot run the PyTorch peer", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }
}
